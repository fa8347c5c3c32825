//! A counting global allocator: live heap bytes, exact to within a small per-thread slack.
//!
//! The binary installs [`CountingAlloc`] as `#[global_allocator]`; the library only reads the
//! counters. Each thread keeps a local balance and publishes it to the shared counter once it moves
//! by [`FLUSH_BYTES`], so the hot path is a thread-local add instead of a contended atomic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

/// A thread publishes its balance once it moves by this many bytes (the counters' worst error
/// per live thread).
pub const FLUSH_BYTES: i64 = 64 * 1024;

static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);
static COUNTING: AtomicBool = AtomicBool::new(true);

thread_local! {
    static PENDING: Cell<i64> = const { Cell::new(0) };
}

/// An allocator (the system's by default) counting live bytes: `CountingAlloc(System)`, or
/// any other [`GlobalAlloc`] the program prefers.
#[derive(Debug)]
pub struct CountingAlloc<A = System>(pub A);

#[inline(always)]
fn account(delta: i64) {
    if !COUNTING.load(Relaxed) {
        return;
    }
    // `try_with` fails only while the thread is being torn down: publish directly then.
    let flushed = PENDING
        .try_with(|p| {
            let v = p.get() + delta;
            if v.abs() >= FLUSH_BYTES {
                p.set(0);
                Some(v)
            } else {
                p.set(v);
                None
            }
        })
        .unwrap_or(Some(delta));
    if let Some(v) = flushed {
        let now = LIVE.fetch_add(v, Relaxed) + v;
        if v > 0 && now > PEAK.load(Relaxed) {
            PEAK.fetch_max(now, Relaxed);
        }
    }
}

// SAFETY: every call is forwarded to the inner allocator unchanged; the counting has no effect
// on memory.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.0.dealloc(ptr, layout) };
        account(-(layout.size() as i64));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

impl CountingAlloc {
    /// Marks the allocator as installed; call once from `main` (or a test) that uses it.
    pub fn activate() {
        INSTALLED.store(true, Relaxed);
    }
}

/// Turns counting off or on (to measure what counting costs). While off, the counters are
/// not updated, so live bytes read afterwards are only approximate.
pub fn set_counting(on: bool) {
    COUNTING.store(on, Relaxed);
}

/// True when the program installed [`CountingAlloc`] and activated it.
pub fn is_tracking() -> bool {
    INSTALLED.load(Relaxed) && COUNTING.load(Relaxed)
}

/// Live heap bytes (allocated and not yet freed), or 0 when not tracking.
pub fn live_bytes() -> u64 {
    LIVE.load(Relaxed).max(0) as u64
}

/// Highest live heap seen since the last [`reset_peak`].
pub fn peak_bytes() -> u64 {
    PEAK.load(Relaxed).max(0) as u64
}

/// Starts a new peak measurement from the current live value (at the start of each run).
pub fn reset_peak() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
}

/// Gives memory freed by earlier runs back to the OS (glibc keeps it otherwise), so a run's
/// resident-memory chart starts from what the process really holds.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused pages of the allocator to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
}
