//! What the operating system says of this process: cores, memory, and each thread's CPU time
//! and context switches.

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Physical memory of the machine in bytes (0 if unknown).
pub fn physical_memory() -> u64 {
    System::new_with_specifics(
        sysinfo::RefreshKind::nothing()
            .with_memory(sysinfo::MemoryRefreshKind::nothing().with_ram()),
    )
    .map(|s| s.total_memory())
    .unwrap_or(0)
}

/// Number of logical cores the OS reports.
pub fn logical_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// What the scheduler says of one thread of this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadSched {
    /// CPU time it has run, in ns.
    pub cpu_ns: u64,
    /// Times it has been switched in (each hand-over of a core to it, whether it had blocked,
    /// yielded or been preempted).
    pub switches: u64,
}

/// The scheduler's counters of a thread (from `/proc/self/task/<tid>/schedstat`: run time,
/// wait time, time slices run).
pub fn thread_sched(tid: i32) -> Option<ThreadSched> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let mut fields = s.split_whitespace().map(|f| f.parse::<u64>().ok());
    let cpu_ns = fields.next()??;
    let switches = fields.nth(1)??;
    Some(ThreadSched { cpu_ns, switches })
}

/// Resident memory of this process in bytes.
pub fn resident_bytes(sys: &mut System, pid: Pid) -> u64 {
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        false,
        ProcessRefreshKind::nothing().with_memory(),
    );
    sys.process(pid).map(|p| p.memory()).unwrap_or(0)
}

/// Time a logical core has spent, in the kernel's ticks (`USER_HZ`, usually 100 a second).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreTicks {
    /// Ticks running anything (user, nice, system, irq, softirq, steal).
    pub busy: u64,
    /// Ticks in all (busy, idle and iowait).
    pub total: u64,
}

/// Every logical core's ticks, from `/proc/stat`: read at any rate, unlike sysinfo's CPU usage
/// (refreshed at most every 200 ms). `None` where the file is missing (not Linux).
pub fn core_ticks() -> Option<Vec<CoreTicks>> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cores: Vec<CoreTicks> = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            let at = |i: usize| f.get(i).copied().unwrap_or(0);
            // user nice system idle iowait irq softirq steal
            let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
            CoreTicks {
                busy,
                total: busy + at(3) + at(4),
            }
        })
        .collect();
    (!cores.is_empty()).then_some(cores)
}

/// The ids of this process's threads now (from `/proc/self/task`; empty where it is missing).
pub fn thread_ids() -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// This process's resident memory now (from `/proc/self/statm`), without a sysinfo refresh.
pub fn resident_bytes_now() -> Option<u64> {
    statm_resident("self")
}

/// CPU time this process has used so far, user and system, in seconds.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// CPU time process `pid` has used so far, user and system, in seconds (from
/// `/proc/PID/stat`); `None` where it is gone or unreadable.
pub fn process_cpu_seconds_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields count from its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 (index 0 here); utime 14 and stime 15.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Some(ticks as f64 / hz.max(1) as f64)
}

/// Resident memory of process `pid` in bytes (from `/proc/PID/statm`).
pub fn resident_bytes_of(pid: u32) -> Option<u64> {
    statm_resident(&pid.to_string())
}

/// Resident bytes of `/proc/<process>/statm` (`self` or a pid).
fn statm_resident(process: &str) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{process}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// The process listening on TCP `port` on this machine (its socket found in `/proc/net/tcp*`,
/// then among the processes' open files); `None` where it cannot be told (another user's
/// process, not Linux).
pub fn listener_pid(port: u16) -> Option<u32> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    let local_port = f.get(1)?.rsplit_once(':')?.1;
                    let listening = *f.get(3)? == "0A";
                    let inode = f.get(9)?;
                    (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                        .then(|| format!("socket:[{inode}]"))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if inodes.is_empty() {
        return None;
    }
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
        fds.filter_map(Result::ok)
            .any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
            })
            .then_some(pid)
    })
}
