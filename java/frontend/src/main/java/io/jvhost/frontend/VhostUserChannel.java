package io.jvhost.frontend;

import io.jvhost.protocol.FrontendRequest;
import io.jvhost.protocol.MessageHeader;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

import org.newsclub.net.unix.AFUNIXSocket;

/**
 * One end of a vhost-user socket: writes and reads framed messages (header + payload), sends file
 * descriptors as SCM_RIGHTS with the first byte of a message (what DPDK's {@code read_fd_message}
 * expects), and bounds every read with a deadline.
 */
final class VhostUserChannel implements AutoCloseable {
    /** A received message. */
    record Message(int request, int flags, byte[] payload) {
        boolean isReply() {
            return (flags & MessageHeader.REPLY) != 0;
        }

        boolean needsReply() {
            return (flags & MessageHeader.NEED_REPLY) != 0;
        }

        ByteBuffer le() {
            return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        }

        long u64() throws VhostUserException {
            if (payload.length < 8) {
                throw new VhostUserException("reply to " + FrontendRequest.nameOf(request)
                        + " carries " + payload.length + " payload bytes, expected a u64");
            }
            return le().getLong(0);
        }
    }

    private final AFUNIXSocket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String name;
    private final Object writeLock = new Object();
    private volatile boolean closed;

    VhostUserChannel(AFUNIXSocket socket, String name) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.name = name;
    }

    String name() {
        return name;
    }

    /** Sends one message (the version is added to {@code flags}); {@code fds} travel with it (may be empty). */
    void send(int request, int flags, byte[] payload, FileDescriptor... fds) throws VhostUserException {
        byte[] frame = new byte[MessageHeader.BYTES + payload.length];
        new MessageHeader(request, flags | MessageHeader.VERSION, payload.length).encode(ByteBuffer.wrap(frame))
                .put(payload);
        synchronized (writeLock) {
            try {
                if (fds.length > 0) {
                    socket.setOutboundFileDescriptors(fds);
                }
                out.write(frame);
                out.flush();
            } catch (IOException e) {
                throw new VhostUserException(name + ": cannot send " + FrontendRequest.nameOf(request)
                        + (closed ? " (channel closed)" : "") + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Reads one message.
     *
     * @param timeoutNanos how long to wait for the whole message
     * @param idleReturnsNull when nothing at all arrived within the timeout: {@code true} returns
     *        null (polling), {@code false} throws {@link VhostUserTimeoutException}
     * @param awaited what the caller waits for (for error messages)
     */
    Message receive(long timeoutNanos, boolean idleReturnsNull, String awaited) throws VhostUserException {
        return receive(timeoutNanos, idleReturnsNull, awaited, timeoutNanos);
    }

    /**
     * Reads one message, waiting {@code timeoutNanos} for it to start and, once its first byte
     * is there, up to {@code restNanos} more for the rest (a poll window that ends between the
     * header and the payload must not cut a message).
     */
    Message receive(long timeoutNanos, boolean idleReturnsNull, String awaited, long restNanos)
            throws VhostUserException {
        long deadline = System.nanoTime() + timeoutNanos;
        byte[] header = new byte[MessageHeader.BYTES];
        int got = readFully(header, deadline, idleReturnsNull, awaited, restNanos);
        if (got < 0) {
            return null;
        }
        deadline = Math.max(deadline, System.nanoTime() + restNanos);
        MessageHeader h = MessageHeader.decode(header, 0);
        if (h.version() != MessageHeader.VERSION) {
            throw new VhostUserException(name + ": message " + h.request() + " has protocol version "
                    + h.version() + " (flags 0x" + Integer.toHexString(h.flags()) + "), expected 1");
        }
        if (h.payloadSize() > MessageHeader.MAX_PAYLOAD) {
            throw new VhostUserException(name + ": message " + h.request() + " announces a payload of "
                    + h.payloadSize() + " bytes (at most " + MessageHeader.MAX_PAYLOAD + ")");
        }
        byte[] payload = new byte[h.size()];
        readFully(payload, deadline, false, awaited, restNanos);
        closeReceivedFds();
        return new Message(h.request(), h.flags(), payload);
    }

    /** Returns -1 if idle (nothing read) and idleReturnsNull, else the length. */
    private int readFully(byte[] buf, long deadline, boolean idleReturnsNull, String awaited, long restNanos)
            throws VhostUserException {
        int off = 0;
        boolean extended = false;
        while (off < buf.length) {
            if (off > 0 && !extended) {
                deadline = Math.max(deadline, System.nanoTime() + restNanos);
                extended = true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return timedOut(off, idleReturnsNull, awaited);
            }
            int n;
            try {
                socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(left))));
                n = in.read(buf, off, buf.length - off);
            } catch (SocketTimeoutException e) {
                return timedOut(off, idleReturnsNull, awaited);
            } catch (IOException e) {
                if (closed) {
                    throw new VhostUserException(name + ": channel closed while waiting for " + awaited, e);
                }
                throw new VhostUserException(name + ": read failed while waiting for " + awaited + ": " + e.getMessage(), e);
            }
            if (n < 0) {
                throw new VhostUserException(name + ": the backend closed the connection while we waited for " + awaited,
                        new EOFException());
            }
            off += n;
        }
        return off;
    }

    private int timedOut(int off, boolean idleReturnsNull, String awaited) throws VhostUserTimeoutException {
        if (off == 0 && idleReturnsNull) {
            return -1;
        }
        throw new VhostUserTimeoutException(name + ": timed out waiting for " + awaited
                + (off > 0 ? " (message cut after " + off + " bytes)" : ""));
    }

    /** A backend has no business sending us fds here; close any so that none leaks. */
    private void closeReceivedFds() {
        try {
            FileDescriptor[] fds = socket.getReceivedFileDescriptors();
            if (fds != null) {
                for (FileDescriptor fd : fds) {
                    new FileInputStream(fd).close(); // closes the descriptor
                }
            }
        } catch (IOException ignored) {
            // nothing received
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
