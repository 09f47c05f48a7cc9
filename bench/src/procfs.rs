//! A process's CPU time and memory, read from outside the process.
//!
//! CPU time comes from two places: `utime + stime` of `/proc/<pid>/stat` (clock ticks, 10 ms on
//! this kernel: too coarse for a few thousand handshakes) and the kernel's CPU-time clock of the
//! process (`clock_getcpuclockid`, nanoseconds, the same account). Both are recorded; the
//! nanosecond clock is used when the kernel offers it.

use std::fs;

/// CPU time and memory of a process at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// CPU time (user + system, all threads) in nanoseconds, from the process CPU clock, or
    /// from `/proc/<pid>/stat` ticks if that clock is unavailable.
    pub cpu_ns: u64,
    /// `utime + stime` from `/proc/<pid>/stat`, in nanoseconds (tick resolution).
    pub stat_cpu_ns: u64,
    /// `VmRSS` in bytes.
    pub rss: u64,
    /// `VmHWM` (peak RSS) in bytes.
    pub hwm: u64,
}

/// Samples the process `pid`; `None` once it is gone.
pub fn sample(pid: u32) -> Option<Sample> {
    let stat_cpu_ns = stat_cpu_ns(pid)?;
    let (rss, hwm) = memory(pid)?;
    Some(Sample {
        cpu_ns: clock_cpu_ns(pid).unwrap_or(stat_cpu_ns),
        stat_cpu_ns,
        rss,
        hwm,
    })
}

/// `utime + stime` of `/proc/<pid>/stat`, in nanoseconds.
pub fn stat_cpu_ns(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000_000 / clock_ticks())
}

/// `VmRSS` and `VmHWM` of `/proc/<pid>/status`, in bytes.
pub fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The CPU time of process `pid` from its kernel CPU-time clock, in nanoseconds.
pub fn clock_cpu_ns(pid: u32) -> Option<u64> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: both calls only write the out-parameters we pass.
    unsafe {
        let mut clock: libc::clockid_t = 0;
        if libc::clock_getcpuclockid(pid, &mut clock) != 0 {
            return None;
        }
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        if libc::clock_gettime(clock, &mut ts) != 0 {
            return None;
        }
        Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let pid = std::process::id();
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let s = sample(pid).expect("own /proc entry");
        assert!(s.cpu_ns > 0);
        assert!(s.rss > 0 && s.hwm >= s.rss);
        assert!(sample(u32::MAX - 1).is_none());
    }
}
