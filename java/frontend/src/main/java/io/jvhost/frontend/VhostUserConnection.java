package io.jvhost.frontend;

import io.jvhost.protocol.BackendRequest;
import io.jvhost.protocol.FrontendRequest;
import io.jvhost.protocol.MemoryRegion;
import io.jvhost.protocol.MessageHeader;
import io.jvhost.protocol.ProtocolFeature;
import io.jvhost.protocol.VhostIotlbMsg;
import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * The frontend's side of one vhost-user connection: typed requests on the main socket and, once
 * {@link #openBackendChannel opened}, a reader thread for the backend-request ("slave") channel.
 *
 * <p><b>Why junixsocket.</b> vhost-user passes file descriptors (guest memory, eventfds, the
 * backend-request socket) as SCM_RIGHTS ancillary data. The JDK's own Unix-domain
 * {@code SocketChannel} (JDK 16+) cannot send ancillary data, so a pure-Java frontend needs either
 * a JNI helper of its own or a library. junixsocket is maintained, on Maven Central, ships its
 * native library for Linux inside its jar, exposes {@code setOutboundFileDescriptors} for exactly
 * this and lets any socket's descriptor be passed on. It keeps the frontend independent
 * of jvhost's own native shim, which is the point of a frontend the native backend is compared
 * against.
 *
 * <p>Every request that has no reply of its own asks for a {@code REPLY_ACK} when that protocol
 * feature is negotiated, and a non-zero ack raises {@link VhostUserException}. Requests are
 * serialized by a lock, so the reader thread may send IOTLB updates while another thread
 * configures the device. Every read has a deadline ({@link #timeout()}).
 */
public final class VhostUserConnection implements AutoCloseable {
    private static final Logger LOG = System.getLogger(VhostUserConnection.class.getName());

    private final VhostUserChannel main;
    private final long timeoutNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final String name;
    private volatile long protocolFeatures;
    private volatile boolean replyAck;
    private VhostUserChannel backend;
    private AFUNIXSocket theirEnd;
    private Thread backendReader;
    private volatile BackendRequestHandler handler;
    private volatile Throwable backendFailure;
    private volatile boolean closed;

    private VhostUserConnection(AFUNIXSocket socket, String name, Duration timeout) throws IOException {
        this.main = new VhostUserChannel(socket, name);
        this.timeoutNanos = timeout.toNanos();
        this.name = name;
    }

    /**
     * Connects to a backend listening on {@code socket} (backend in server mode, e.g. testpmd's
     * {@code net_vhost} without {@code client=1}), retrying until {@code timeout} while the socket
     * does not exist yet or refuses.
     *
     * @param socket path of the backend's Unix socket
     * @param timeout bound for connecting and for every later read
     * @return the connection
     * @throws VhostUserException if no connection could be made in time
     */
    public static VhostUserConnection connect(Path socket, Duration timeout) throws VhostUserException {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        do {
            AFUNIXSocket s = null;
            try {
                s = AFUNIXSocket.newInstance();
                s.connect(AFUNIXSocketAddress.of(socket), (int) Math.max(1, timeout.toMillis()));
                return new VhostUserConnection(s, socket.getFileName().toString(), timeout);
            } catch (IOException e) {
                last = e;
                closeQuietly(s);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new VhostUserException("interrupted while connecting to " + socket, e);
            }
        } while (System.nanoTime() < deadline);
        throw new VhostUserTimeoutException("cannot connect to vhost-user socket " + socket + " within " + timeout
                + ": " + (last == null ? "?" : last.getMessage()), last);
    }

    /**
     * Listens on {@code socket} and accepts one backend (backend in client mode, e.g. testpmd's
     * {@code net_vhost} with {@code client=1}). The socket file is removed again once the backend
     * connected (or on failure).
     *
     * @param socket path to create
     * @param timeout bound for the backend to connect and for every later read
     * @return the connection
     * @throws VhostUserException if nobody connected in time or the socket cannot be created
     */
    public static VhostUserConnection accept(Path socket, Duration timeout) throws VhostUserException {
        try (AFUNIXServerSocket server = AFUNIXServerSocket.newInstance()) {
            server.bind(AFUNIXSocketAddress.of(socket));
            server.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            AFUNIXSocket s = server.accept();
            return new VhostUserConnection(s, socket.getFileName().toString(), timeout);
        } catch (SocketTimeoutException e) {
            throw new VhostUserTimeoutException("no backend connected to " + socket + " within " + timeout, e);
        } catch (IOException e) {
            throw new VhostUserException("cannot listen on " + socket + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    /** @return the bound of every blocking read */
    public Duration timeout() {
        return Duration.ofNanos(timeoutNanos);
    }

    /** @return whether {@code REPLY_ACK} has been negotiated */
    public boolean replyAck() {
        return replyAck;
    }

    /** @return the protocol features acknowledged with {@link #setProtocolFeatures} */
    public long protocolFeatures() {
        return protocolFeatures;
    }

    /**
     * @return VHOST_USER_GET_FEATURES
     * @throws VhostUserException on protocol or I/O error
     */
    public long getFeatures() throws VhostUserException {
        return request(FrontendRequest.GET_FEATURES, new byte[0], true).u64();
    }

    /**
     * VHOST_USER_SET_FEATURES.
     *
     * @param features the acked virtio features (include bit 30 when protocol features are used)
     * @throws VhostUserException on protocol or I/O error
     */
    public void setFeatures(long features) throws VhostUserException {
        request(FrontendRequest.SET_FEATURES, u64(features), false);
    }

    /**
     * VHOST_USER_SET_LOG_BASE: hands the backend the dirty-page log of a live migration, a bitmap
     * of one bit per 4 KiB guest page (QEMU sends it before it sets VHOST_F_LOG_ALL). The backend
     * answers with an empty reply, which this waits for.
     *
     * @param fd the log's shared memory
     * @param size its size in bytes
     * @param offset where the log starts in it
     * @throws VhostUserException on protocol or I/O error
     */
    public void setLogBase(FileDescriptor fd, long size, long offset) throws VhostUserException {
        request(FrontendRequest.SET_LOG_BASE, le(16).putLong(size).putLong(offset).array(), true, fd);
    }

    /**
     * @return VHOST_USER_GET_PROTOCOL_FEATURES
     * @throws VhostUserException on protocol or I/O error
     */
    public long getProtocolFeatures() throws VhostUserException {
        return request(FrontendRequest.GET_PROTOCOL_FEATURES, new byte[0], true).u64();
    }

    /**
     * VHOST_USER_SET_PROTOCOL_FEATURES; from then on requests ask for REPLY_ACK if it is in
     * {@code features}.
     *
     * @param features acked protocol features
     * @throws VhostUserException on protocol or I/O error
     */
    public void setProtocolFeatures(long features) throws VhostUserException {
        request(FrontendRequest.SET_PROTOCOL_FEATURES, u64(features), false);
        protocolFeatures = features;
        replyAck = ProtocolFeature.REPLY_ACK.isIn(features);
    }

    /**
     * @return VHOST_USER_GET_QUEUE_NUM (queue pairs for a net device)
     * @throws VhostUserException on protocol or I/O error
     */
    public long getQueueNum() throws VhostUserException {
        return request(FrontendRequest.GET_QUEUE_NUM, new byte[0], true).u64();
    }

    /**
     * VHOST_USER_SET_OWNER.
     *
     * @throws VhostUserException on protocol or I/O error
     */
    public void setOwner() throws VhostUserException {
        request(FrontendRequest.SET_OWNER, new byte[0], false);
    }

    /**
     * VHOST_USER_SET_MEM_TABLE with one file descriptor per region.
     *
     * @param memory the guest memory
     * @throws VhostUserException on protocol or I/O error
     */
    public void setMemTable(GuestMemory memory) throws VhostUserException {
        var regions = memory.regions();
        ByteBuffer b = le(8 + MemoryRegion.WIRE_BYTES * regions.size());
        b.putInt(regions.size()).putInt(0);
        FileDescriptor[] fds = new FileDescriptor[regions.size()];
        for (int i = 0; i < regions.size(); i++) {
            GuestMemory.Region r = regions.get(i);
            b.putLong(r.guestPhysAddr()).putLong(r.size()).putLong(r.userAddr()).putLong(r.mmapOffset());
            try {
                fds[i] = r.fd();
            } catch (IOException e) {
                throw new VhostUserException("guest memory region " + i + " has no file descriptor", e);
            }
        }
        request(FrontendRequest.SET_MEM_TABLE, b.array(), false, fds);
    }

    /**
     * VHOST_USER_SET_VRING_NUM.
     *
     * @param index vring index
     * @param num ring size
     * @throws VhostUserException on protocol or I/O error
     */
    public void setVringNum(int index, int num) throws VhostUserException {
        request(FrontendRequest.SET_VRING_NUM, state(index, num), false);
    }

    /**
     * VHOST_USER_SET_VRING_BASE.
     *
     * @param index vring index
     * @param base first available index the backend should process
     * @throws VhostUserException on protocol or I/O error
     */
    public void setVringBase(int index, int base) throws VhostUserException {
        request(FrontendRequest.SET_VRING_BASE, state(index, base), false);
    }

    /**
     * VHOST_USER_SET_VRING_ADDR. Addresses are frontend userspace addresses without IOMMU, IOVAs
     * with it.
     *
     * @param index vring index
     * @param desc descriptor table
     * @param used used ring
     * @param avail available ring
     * @throws VhostUserException on protocol or I/O error
     */
    public void setVringAddr(int index, long desc, long used, long avail) throws VhostUserException {
        setVringAddr(index, desc, used, avail, false, 0);
    }

    /**
     * VHOST_USER_SET_VRING_ADDR as QEMU sends it again when a migration starts or ends: with
     * {@code log} the VHOST_VRING_F_LOG flag is set and {@code logGuestAddr}, the used ring's guest
     * address, tells the backend where its used-ring writes go in the dirty-page log.
     *
     * @param index vring index
     * @param desc descriptor table
     * @param used used ring
     * @param avail available ring
     * @param log whether to set VHOST_VRING_F_LOG
     * @param logGuestAddr the used ring's guest physical address (or I/O virtual address with the IOMMU), or 0
     * @throws VhostUserException on protocol or I/O error
     */
    public void setVringAddr(int index, long desc, long used, long avail, boolean log, long logGuestAddr)
            throws VhostUserException {
        ByteBuffer b = le(40);
        b.putInt(index).putInt(log ? 1 : 0).putLong(desc).putLong(used).putLong(avail).putLong(logGuestAddr);
        request(FrontendRequest.SET_VRING_ADDR, b.array(), false);
    }

    /**
     * VHOST_USER_SET_VRING_KICK.
     *
     * @param index vring index
     * @param fd an eventfd-like descriptor, or null for {@link FrontendRequest#VRING_NOFD_MASK}
     *        (the backend polls)
     * @throws VhostUserException on protocol or I/O error
     */
    public void setVringKick(int index, FileDescriptor fd) throws VhostUserException {
        vringFile(FrontendRequest.SET_VRING_KICK, index, fd);
    }

    /**
     * VHOST_USER_SET_VRING_CALL.
     *
     * @param index vring index
     * @param fd an eventfd-like descriptor, or null for {@link FrontendRequest#VRING_NOFD_MASK}
     *        (the frontend polls)
     * @throws VhostUserException on protocol or I/O error
     */
    public void setVringCall(int index, FileDescriptor fd) throws VhostUserException {
        vringFile(FrontendRequest.SET_VRING_CALL, index, fd);
    }

    private void vringFile(FrontendRequest req, int index, FileDescriptor fd) throws VhostUserException {
        long v = (index & FrontendRequest.VRING_IDX_MASK) | (fd == null ? FrontendRequest.VRING_NOFD_MASK : 0);
        if (fd == null) {
            request(req, u64(v), false);
        } else {
            request(req, u64(v), false, fd);
        }
    }

    /**
     * VHOST_USER_SET_VRING_ENABLE.
     *
     * @param index vring index
     * @param enable on or off
     * @throws VhostUserException on protocol or I/O error
     */
    public void setVringEnable(int index, boolean enable) throws VhostUserException {
        request(FrontendRequest.SET_VRING_ENABLE, state(index, enable ? 1 : 0), false);
    }

    /**
     * VHOST_USER_GET_VRING_BASE: stops the ring in the backend.
     *
     * @param index vring index
     * @return the backend's next available index
     * @throws VhostUserException on protocol or I/O error
     */
    public int getVringBase(int index) throws VhostUserException {
        VhostUserChannel.Message m = request(FrontendRequest.GET_VRING_BASE, state(index, 0), true);
        if (m.payload().length < 8) {
            throw new VhostUserException("GET_VRING_BASE reply has " + m.payload().length + " bytes, expected 8");
        }
        return m.le().getInt(4);
    }

    /**
     * Sends VHOST_USER_IOTLB_MSG (asking for REPLY_ACK when negotiated).
     *
     * @param msg an UPDATE or INVALIDATE ({@link VhostIotlbMsg#update}, {@link VhostIotlbMsg#invalidate})
     * @return the ack: 0 when accepted (or when no REPLY_ACK was negotiated), else the backend's
     *         non-zero failure value
     * @throws VhostUserException on I/O error
     */
    public long sendIotlb(VhostIotlbMsg msg) throws VhostUserException {
        return sendIotlb(msg, true);
    }

    /**
     * Sends VHOST_USER_IOTLB_MSG with any field values, for tests that play a hostile frontend:
     * no value is checked here (sizes of 0 or wrapping past 2^64, unknown types and permission
     * bits go out as given). The reply flag matters for what a backend does with a message it
     * refuses: DPDK 22.11 acks a refused message with 1 when {@code NEED_REPLY} is set, and
     * closes the connection (destroying the device) when it is not.
     *
     * @param msg the message; its type and perm may be any byte ({@link VhostIotlbMsg}'s constructor)
     * @param askReply whether to set {@code NEED_REPLY} (only when REPLY_ACK was negotiated)
     * @return the ack when one was asked for (0: accepted), else 0
     * @throws VhostUserException on I/O error
     */
    public long sendIotlb(VhostIotlbMsg msg, boolean askReply) throws VhostUserException {
        VhostUserChannel.Message m = request(FrontendRequest.IOTLB_MSG, msg.toBytes(), false, false, askReply);
        return m == null ? 0 : m.u64();
    }

    /**
     * Creates the backend-request channel (a connected pair of sockets), passes one end with
     * VHOST_USER_SET_SLAVE_REQ_FD and starts a daemon thread that reads the other end and hands
     * IOTLB messages to {@code handler}, replying when the backend asks for a reply. Needs the
     * SLAVE_REQ protocol feature.
     *
     * @param handler what to do with the backend's IOTLB misses
     * @throws VhostUserException on protocol or I/O error
     */
    public void openBackendChannel(BackendRequestHandler handler) throws VhostUserException {
        if (backend != null) {
            throw new IllegalStateException("backend-request channel already open");
        }
        this.handler = handler;
        AFUNIXSocket ours = null;
        AFUNIXSocket theirs = null;
        try {
            AFUNIXSocket[] pair = SocketPairs.connected("backend-req", timeoutNanos);
            ours = pair[0];
            theirs = pair[1];
            backend = new VhostUserChannel(ours, name + "/backend-req");
            request(FrontendRequest.SET_BACKEND_REQ_FD, new byte[0], false, theirs.getFileDescriptor());
        } catch (IOException e) {
            closeQuietly(ours);
            closeQuietly(theirs);
            backend = null;
            throw e instanceof VhostUserException ? (VhostUserException) e
                    : new VhostUserException("cannot create or pass the backend-request socket: " + e.getMessage(), e);
        }
        // The backend holds its own copy of "theirs" now; ours stays open until close() (see
        // SocketPairs: closing it would shut the backend's copy down; DPDK then gets EPIPE).
        theirEnd = theirs;
        backendReader = new Thread(this::readBackendRequests, "vhost-user-backend-req-" + name);
        backendReader.setDaemon(true);
        backendReader.start();
    }

    /** @return why the backend-request reader stopped early, or null */
    public Throwable backendChannelFailure() {
        return backendFailure;
    }

    private void readBackendRequests() {
        VhostUserChannel ch = backend;
        while (!closed && !ch.isClosed()) {
            try {
                // poll in 200 ms windows (to notice close()); a message once started gets the full timeout
                VhostUserChannel.Message m = ch.receive(TimeUnit.MILLISECONDS.toNanos(200), true, "a backend request",
                        timeoutNanos);
                if (m == null) {
                    continue;
                }
                long now = System.nanoTime();
                long reply;
                if (m.request() == BackendRequest.IOTLB_MSG.code() && m.payload().length >= VhostIotlbMsg.FIELD_BYTES) {
                    VhostIotlbMsg msg = VhostIotlbMsg.decode(m.payload(), 0);
                    BackendRequestHandler h = handler;
                    reply = h == null ? 1 : h.onIotlbMessage(msg, now);
                } else {
                    LOG.log(Level.WARNING, "{0}: unsupported backend request {1} ({2} bytes)", name, m.request(),
                            m.payload().length);
                    reply = 1;
                }
                if (m.needsReply()) {
                    ch.send(m.request(), MessageHeader.REPLY, u64(reply));
                }
            } catch (VhostUserException e) {
                if (!closed) {
                    backendFailure = e;
                    LOG.log(Level.WARNING, name + ": backend-request channel stopped: " + e.getMessage());
                }
                return;
            } catch (RuntimeException e) {
                backendFailure = e;
                LOG.log(Level.ERROR, name + ": backend-request handler failed", e);
                return;
            }
        }
    }

    private VhostUserChannel.Message request(FrontendRequest req, byte[] payload, boolean hasReply, FileDescriptor... fds)
            throws VhostUserException {
        return request(req, payload, hasReply, true, fds);
    }

    private VhostUserChannel.Message request(FrontendRequest req, byte[] payload, boolean hasReply, boolean failOnNack,
            FileDescriptor... fds) throws VhostUserException {
        return request(req, payload, hasReply, failOnNack, true, fds);
    }

    private VhostUserChannel.Message request(FrontendRequest req, byte[] payload, boolean hasReply, boolean failOnNack,
            boolean askAck, FileDescriptor... fds) throws VhostUserException {
        String what = req.name();
        lock.lock();
        try {
            if (closed) {
                throw new VhostUserException(name + ": connection closed, cannot send " + what);
            }
            boolean ack = !hasReply && replyAck && askAck;
            main.send(req.code(), ack ? MessageHeader.NEED_REPLY : 0, payload, fds);
            if (!hasReply && !ack) {
                return null;
            }
            VhostUserChannel.Message m = main.receive(timeoutNanos, false, "the reply to " + what);
            if (m.request() != req.code() || !m.isReply()) {
                throw new VhostUserException(name + ": sent " + what + ", got " + FrontendRequest.nameOf(m.request())
                        + " with flags 0x" + Integer.toHexString(m.flags()) + " instead of its reply");
            }
            if (ack && failOnNack) {
                long v = m.u64();
                if (v != 0) {
                    throw new VhostUserException(name + ": the backend rejected " + what + " (REPLY_ACK " + v + ")");
                }
            }
            return m;
        } finally {
            lock.unlock();
        }
    }

    private static byte[] u64(long v) {
        return le(8).putLong(v).array();
    }

    private static byte[] state(int index, int num) {
        return le(8).putInt(index).putInt(num).array();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    /** @return whether {@link #close()} was called */
    public boolean isClosed() {
        return closed;
    }

    /** Closes both channels and stops the reader thread. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (backend != null) {
            backend.close();
            closeQuietly(theirEnd);
        }
        main.close();
        Thread t = backendReader;
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
