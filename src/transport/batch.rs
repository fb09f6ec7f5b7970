//! Batched datagram I/O: `recvmmsg` (many datagrams per system call) and
//! `sendmmsg` (many answers per system call), with reusable buffers. Used by
//! the UDP receive threads and by the load tool (`sipforge-load`).

use std::io;
use std::mem::zeroed;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use bytes::Bytes;
use socket2::SockAddr;

/// Reusable buffers for `recvmmsg`: `batch` slots of `slot` bytes each.
pub struct RecvBatch {
    bufs: Vec<u8>,
    slot: usize,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    addrs: Vec<libc::sockaddr_storage>,
    n: usize,
}

// SAFETY: the raw pointers inside the C structs point into buffers owned by
// the batch itself; they are rewritten before every use.
unsafe impl Send for RecvBatch {}

impl RecvBatch {
    pub fn new(batch: usize, slot: usize) -> RecvBatch {
        let batch = batch.max(1);
        // SAFETY: these are plain C structs for which all-zero is valid.
        let (iov, hdrs, addrs) = unsafe {
            (
                vec![zeroed::<libc::iovec>(); batch],
                vec![zeroed::<libc::mmsghdr>(); batch],
                vec![zeroed::<libc::sockaddr_storage>(); batch],
            )
        };
        RecvBatch {
            bufs: vec![0; batch * slot],
            slot,
            iov,
            hdrs,
            addrs,
            n: 0,
        }
    }

    /// Receives up to the batch size. `flags` is `MSG_DONTWAIT` (never
    /// wait) or `MSG_WAITFORONE` on a blocking socket (wait for the first,
    /// up to the socket's receive timeout, then take what is queued).
    /// `Ok(0)`: nothing came (would block, timed out or interrupted).
    pub fn recv(&mut self, fd: RawFd, flags: libc::c_int) -> io::Result<usize> {
        let base = self.bufs.as_mut_ptr();
        for i in 0..self.hdrs.len() {
            // SAFETY: slot i lies inside `bufs` (batch * slot bytes).
            self.iov[i].iov_base = unsafe { base.add(i * self.slot) }.cast();
            self.iov[i].iov_len = self.slot;
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
                self.hdrs.len() as libc::c_uint,
                flags,
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

    /// Datagram `i` of the last receive, its sender, and whether it was cut
    /// short (longer than a slot).
    pub fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>, bool) {
        let len = (self.hdrs[i].msg_len as usize).min(self.slot);
        let data = &self.bufs[i * self.slot..i * self.slot + len];
        let truncated = self.hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        let namelen = self.hdrs[i].msg_hdr.msg_namelen;
        let mut storage = socket2::SockAddrStorage::zeroed();
        // SAFETY: the kernel wrote a socket address of `namelen` bytes into
        // a sockaddr_storage, which is what the storage is viewed as.
        let addr = unsafe {
            *storage.view_as::<libc::sockaddr_storage>() = self.addrs[i];
            SockAddr::new(storage, namelen)
        };
        (data, addr.as_socket(), truncated)
    }
}

/// Datagrams gathered while a receive batch is handled, sent with one
/// `sendmmsg`; each may carry a token (whose send failure is reported).
pub struct SendBatch {
    msgs: Vec<(SockAddr, Bytes, Option<u64>)>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: as for RecvBatch; the C structs are rebuilt before every flush.
unsafe impl Send for SendBatch {}

impl Default for SendBatch {
    fn default() -> Self {
        SendBatch::new()
    }
}

impl SendBatch {
    pub fn new() -> SendBatch {
        SendBatch {
            msgs: Vec::new(),
            iov: Vec::new(),
            hdrs: Vec::new(),
        }
    }

    pub fn push(&mut self, to: SocketAddr, bytes: impl Into<Bytes>, token: Option<u64>) {
        self.msgs.push((SockAddr::from(to), bytes.into(), token));
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Sends everything gathered, in order (without waiting: a full socket
    /// buffer drops, as UDP may), and empties the batch. Each failure is
    /// handed to `failed` with its destination and token.
    pub fn flush(
        &mut self,
        fd: RawFd,
        mut failed: impl FnMut(Option<SocketAddr>, Option<u64>, io::Error),
    ) {
        let mut start = 0;
        while start < self.msgs.len() {
            let rest = &self.msgs[start..];
            self.iov.clear();
            self.hdrs.clear();
            for (_, bytes, _) in rest {
                // sendmsg only reads the buffers.
                self.iov.push(libc::iovec {
                    iov_base: bytes.as_ptr() as *mut libc::c_void,
                    iov_len: bytes.len(),
                });
            }
            for (i, (to, _, _)) in rest.iter().enumerate() {
                // SAFETY: all-zero is a valid msghdr; the pointers set below
                // point into `self.iov` and `self.msgs`, alive for the call.
                let mut h: libc::mmsghdr = unsafe { zeroed() };
                h.msg_hdr.msg_name = to.as_ptr() as *mut libc::c_void;
                h.msg_hdr.msg_namelen = to.len();
                h.msg_hdr.msg_iov = &mut self.iov[i];
                h.msg_hdr.msg_iovlen = 1;
                self.hdrs.push(h);
            }
            // SAFETY: hdrs/iov/msgs stay untouched for the duration of the call.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    self.hdrs.as_mut_ptr(),
                    self.hdrs.len() as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if n <= 0 {
                // The first message failed: report it and go on with the next.
                let e = io::Error::last_os_error();
                let (to, _, token) = &self.msgs[start];
                failed(to.as_socket(), *token, e);
                start += 1;
            } else {
                start += n as usize;
            }
        }
        self.msgs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn batches_round_trip() {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut out = SendBatch::new();
        for i in 0..5u8 {
            out.push(b_addr, vec![b'x'; 10 + i as usize], None);
        }
        // A destination that cannot be sent to (port 0) fails alone.
        out.push("127.0.0.1:0".parse().unwrap(), b"lost".to_vec(), Some(7));
        out.push(b_addr, b"last".to_vec(), None);
        let mut errors = Vec::new();
        out.flush(a.as_raw_fd(), |to, token, e| {
            errors.push((to, token, e.kind()))
        });
        assert!(out.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].1, Some(7));

        b.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut rx = RecvBatch::new(4, 64);
        let mut got = Vec::new();
        while got.len() < 6 {
            let n = rx.recv(b.as_raw_fd(), libc::MSG_WAITFORONE).unwrap();
            assert!(n > 0 && n <= 4);
            for i in 0..n {
                let (data, from, cut) = rx.get(i);
                assert_eq!(from, Some(a_addr));
                assert!(!cut);
                got.push(data.to_vec());
            }
        }
        assert_eq!(got[0].len(), 10);
        assert_eq!(got[5], b"last");

        // A datagram longer than a slot is flagged as cut short.
        a.send_to(&[b'y'; 100], b_addr).unwrap();
        assert_eq!(rx.recv(b.as_raw_fd(), libc::MSG_WAITFORONE).unwrap(), 1);
        let (data, _, cut) = rx.get(0);
        assert_eq!(data.len(), 64);
        assert!(cut);
    }
}
