//! Thin libc wrappers for the load tool: batched UDP receive (`recvmmsg`),
//! `ppoll` over several sockets with a nanosecond timeout, and CPU time of
//! the process or the calling thread (`getrusage`).

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Duration;

/// Datagrams per `recvmmsg` call.
pub const BATCH: usize = 32;
/// Bytes per receive slot (larger datagrams are truncated and ignored).
pub const SLOT: usize = 8192;

/// Batched, non-blocking receive: the library's `recvmmsg` batch sized for
/// the load tool.
pub struct RecvBatch(sipforge::transport::batch::RecvBatch);

impl RecvBatch {
    pub fn new() -> RecvBatch {
        RecvBatch(sipforge::transport::batch::RecvBatch::new(BATCH, SLOT))
    }

    /// Receives up to [`BATCH`] datagrams without blocking; `Ok(0)` when
    /// none is waiting.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.0.recv(fd, libc::MSG_DONTWAIT)
    }

    /// Datagram `i` of the last receive and its sender.
    pub fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let (data, from, _) = self.0.get(i);
        (data, from)
    }
}

/// A set of descriptors to wait on.
pub struct Poller {
    fds: Vec<libc::pollfd>,
}

impl Poller {
    pub fn new(fds: &[RawFd]) -> Poller {
        Poller {
            fds: fds
                .iter()
                .map(|&fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect(),
        }
    }

    /// Also wait for writability of descriptor `i` (TCP backlog).
    pub fn want_write(&mut self, i: usize, on: bool) {
        self.fds[i].events = if on {
            libc::POLLIN | libc::POLLOUT
        } else {
            libc::POLLIN
        };
    }

    /// Stops watching descriptor `i` (a closed connection).
    pub fn disable(&mut self, i: usize) {
        self.fds[i].fd = -1;
    }

    /// Waits up to `timeout`; the number of ready descriptors.
    pub fn wait(&mut self, timeout: Duration) -> usize {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe {
            libc::ppoll(
                self.fds.as_mut_ptr(),
                self.fds.len() as libc::nfds_t,
                &ts,
                std::ptr::null(),
            )
        };
        n.max(0) as usize
    }

    pub fn readable(&self, i: usize) -> bool {
        self.fds[i].revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0
    }

    pub fn writable(&self, i: usize) -> bool {
        self.fds[i].revents & libc::POLLOUT != 0
    }
}

/// User + system CPU time of the whole process.
pub fn cpu_process() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

/// User + system CPU time of the calling thread.
pub fn cpu_thread() -> Duration {
    rusage(libc::RUSAGE_THREAD)
}

fn rusage(who: libc::c_int) -> Duration {
    let mut ru = MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let rc = unsafe { libc::getrusage(who, ru.as_mut_ptr()) };
    if rc != 0 {
        return Duration::ZERO;
    }
    // SAFETY: initialised (zeroed, then filled on success).
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
