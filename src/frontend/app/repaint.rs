//! How often the window is redrawn while a run is live: only as often as there can be
//! something new, less when nobody looks, never when minimised, and few frames under a
//! software GL driver, where each frame is drawn on the CPU the run is using. Also the frame
//! times, for the status bar and `PALAVRIADO_FRAME_STATS=1`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Most frames a second while a run is live.
pub const MAX_FPS: u32 = 30;
/// Frames a second while a run is live with a software GL driver (llvmpipe in a VM, a remote
/// desktop, Xvfb): each frame redraws the whole window on the CPU, about 5 % of a core per
/// frame a second at 1440×900 (measured, see the README), so fewer frames keep the app's own
/// cost below the run's.
pub const SOFTWARE_FPS: u32 = 6;
/// The GL renderer names of software drivers.
const SOFTWARE_RENDERERS: [&str; 4] = ["llvmpipe", "softpipe", "swrast", "lavapipe"];
/// How often an unfocused window is redrawn while a run is live.
const UNFOCUSED_FRAME: Duration = Duration::from_millis(500);
/// Frame times kept.
const FRAMES_KEPT: usize = 600;

/// The redraw policy.
#[derive(Clone, Copy, Debug)]
pub struct Repaint {
    /// Most frames a second while a run is live.
    pub max_fps: u32,
    /// Once known: true when a software driver draws the window.
    pub software_gl: Option<bool>,
    /// Frames a second asked for at start-up (overrides the renderer's default).
    fps_asked: Option<u32>,
}

impl Default for Repaint {
    fn default() -> Self {
        Self {
            max_fps: MAX_FPS,
            software_gl: None,
            fps_asked: None,
        }
    }
}

impl Repaint {
    /// Uses `fps` frames a second whatever the renderer.
    pub fn ask_fps(&mut self, fps: u32) {
        self.fps_asked = Some(fps);
        self.max_fps = fps;
    }

    /// Reads, once, which GL driver draws the window; a software one gets [`SOFTWARE_FPS`]
    /// (unless a rate was asked for).
    pub fn detect_renderer(&mut self, frame: &eframe::Frame) {
        if self.software_gl.is_some() {
            return;
        }
        let name = frame.gl().map(|gl| {
            use eframe::glow::HasContext;
            // SAFETY: a plain string query on the context eframe made current for this frame.
            unsafe { gl.get_parameter_string(eframe::glow::RENDERER) }
        });
        let software = name.as_deref().is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            SOFTWARE_RENDERERS.iter().any(|s| n.contains(s))
        });
        self.software_gl = Some(software);
        if software && self.fps_asked.is_none() {
            self.max_fps = SOFTWARE_FPS;
        }
    }

    /// Asks for the next frame of a live run: no sooner than the samples come, slower when
    /// unfocused, none when minimised.
    pub fn request(&self, ctx: &egui::Context, sample_hz: u32) {
        let (focused, minimized) = ctx.input(|i| (i.viewport().focused, i.viewport().minimized));
        let every = if minimized == Some(true) {
            None
        } else if focused == Some(false) {
            Some(UNFOCUSED_FRAME)
        } else {
            let fps = self.max_fps.clamp(1, MAX_FPS).min(sample_hz.max(1));
            Some(Duration::from_secs_f64(1.0 / fps as f64))
        };
        if let Some(every) = every {
            ctx.request_repaint_after(every);
        }
    }
}

/// The last frames' times, for the status bar and `PALAVRIADO_FRAME_STATS=1`.
#[derive(Debug, Default)]
pub struct FrameTimes {
    ms: VecDeque<f32>,
    seen: u64,
}

impl FrameTimes {
    /// Records a frame that began at `started`.
    pub fn record(&mut self, started: Instant) {
        self.ms.push_back(started.elapsed().as_secs_f32() * 1e3);
        if self.ms.len() > FRAMES_KEPT {
            self.ms.pop_front();
        }
        self.seen += 1;
        if self.seen.is_multiple_of(300)
            && std::env::var_os("PALAVRIADO_FRAME_STATS").is_some()
            && let Some((median, p99)) = self.stats()
        {
            eprintln!(
                "frame time over the last {} frames: median {median:.2} ms, p99 {p99:.2} ms",
                self.ms.len()
            );
        }
    }

    /// Median and 99th percentile of the frame times recorded so far (ms).
    pub fn stats(&self) -> Option<(f32, f32)> {
        let mut v: Vec<f32> = self.ms.iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f32::total_cmp);
        let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Some((p(0.5), p(0.99)))
    }
}
