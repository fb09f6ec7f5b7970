//! Thin libc wrappers for the load tool: batched UDP receive (`recvmmsg`),
//! `ppoll` over several sockets with a nanosecond timeout, and CPU time of
//! the process or the calling thread (`getrusage`).

use std::io;
use std::mem::{MaybeUninit, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;
use std::time::Duration;

/// Datagrams per `recvmmsg` call.
pub const BATCH: usize = 32;
/// Bytes per receive slot (larger datagrams are truncated and ignored).
pub const SLOT: usize = 8192;

/// Reusable buffers for one `recvmmsg` call.
pub struct RecvBatch {
    bufs: Vec<u8>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    addrs: Vec<libc::sockaddr_storage>,
    n: usize,
}

impl RecvBatch {
    pub fn new() -> RecvBatch {
        // SAFETY: these are plain C structs for which all-zero is valid.
        let (iov, hdrs, addrs) = unsafe {
            (
                vec![zeroed::<libc::iovec>(); BATCH],
                vec![zeroed::<libc::mmsghdr>(); BATCH],
                vec![zeroed::<libc::sockaddr_storage>(); BATCH],
            )
        };
        RecvBatch {
            bufs: vec![0; BATCH * SLOT],
            iov,
            hdrs,
            addrs,
            n: 0,
        }
    }

    /// Receives up to [`BATCH`] datagrams without blocking; `Ok(0)` when
    /// none is waiting.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let base = self.bufs.as_mut_ptr();
        for i in 0..BATCH {
            // SAFETY: slot i lies inside `bufs` (BATCH * SLOT bytes).
            self.iov[i].iov_base = unsafe { base.add(i * SLOT) }.cast();
            self.iov[i].iov_len = SLOT;
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_iov = &mut self.iov[i];
            h.msg_iovlen = 1;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
        // SAFETY: every header points into buffers owned by self, alive for the call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            self.n = 0;
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        self.n = n as usize;
        Ok(self.n)
    }

    /// Datagram `i` of the last receive and its sender.
    pub fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let len = (self.hdrs[i].msg_len as usize).min(SLOT);
        let data = &self.bufs[i * SLOT..i * SLOT + len];
        (data, to_socket_addr(&self.addrs[i]))
    }
}

fn to_socket_addr(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match ss.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
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
