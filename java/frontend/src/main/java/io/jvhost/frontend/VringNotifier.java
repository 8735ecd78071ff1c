package io.jvhost.frontend;

import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

import org.newsclub.net.unix.AFUNIXSocket;

/**
 * Kick and call descriptors of one vring, as connected Unix stream sockets standing in for
 * eventfds (which Java cannot create): the backend's {@code eventfd_write} is an 8-byte
 * {@code write}, its {@code eventfd_read} an 8-byte {@code read}, and both work on a socket.
 *
 * <p>The call end given to the backend is non-blocking (O_NONBLOCK lives in the open file
 * description, which the backend's received copy shares), so a backend signalling a frontend
 * that does not drain can never block its data path; the kick end we write is non-blocking too,
 * so a backend that polls and never reads kicks cannot block us.
 */
final class VringNotifier implements AutoCloseable {
    private final AFUNIXSocket kickOurs;
    private final AFUNIXSocket kickTheirs;
    private final AFUNIXSocket callOurs;
    private final AFUNIXSocket callTheirs;
    private final InputStream callIn;
    private final ByteBuffer kick = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
    private final byte[] drain = new byte[512];
    private long kicksDropped;
    private long callsSeen;

    private VringNotifier(AFUNIXSocket[] kick, AFUNIXSocket[] call) throws IOException {
        this.kickOurs = kick[0];
        this.kickTheirs = kick[1];
        this.callOurs = call[0];
        this.callTheirs = call[1];
        kickOurs.getChannel().configureBlocking(false);
        callTheirs.getChannel().configureBlocking(false);
        this.callIn = callOurs.getInputStream();
        this.kick.putLong(0, 1);
    }

    static VringNotifier open(int vring, long timeoutNanos) throws IOException {
        AFUNIXSocket[] k = SocketPairs.connected("kick" + vring, timeoutNanos);
        AFUNIXSocket[] c;
        try {
            c = SocketPairs.connected("call" + vring, timeoutNanos);
        } catch (IOException e) {
            k[0].close();
            k[1].close();
            throw e;
        }
        try {
            return new VringNotifier(k, c);
        } catch (IOException | RuntimeException e) {
            for (AFUNIXSocket s : new AFUNIXSocket[] {k[0], k[1], c[0], c[1]}) {
                s.close();
            }
            throw e;
        }
    }

    FileDescriptor kickFd() throws IOException {
        return kickTheirs.getFileDescriptor();
    }

    FileDescriptor callFd() throws IOException {
        return callTheirs.getFileDescriptor();
    }

    /** Signals the backend (like eventfd_write(kickfd, 1)); drops the kick if its buffer is full. */
    void kick() {
        try {
            kick.clear();
            if (kickOurs.getChannel().write(kick) == 0) {
                kicksDropped++;
            }
        } catch (IOException e) {
            kicksDropped++;
        }
    }

    /** @return how many times {@link #awaitCall} woke on a signal */
    long callsSeen() {
        return callsSeen;
    }

    long kicksDropped() {
        return kicksDropped;
    }

    /**
     * Waits until the backend signals the call descriptor, then drains it.
     *
     * @return true if signalled within the timeout
     */
    boolean awaitCall(long timeoutNanos) throws IOException {
        int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)));
        callOurs.setSoTimeout(ms);
        try {
            int n = callIn.read(drain);
            if (n < 0) {
                throw new IOException("the backend closed the call descriptor");
            }
            callsSeen++;
            // drain whatever else is there without waiting
            while (callIn.available() > 0 && callIn.read(drain) > 0) {
                // more signals: one wake-up is enough
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    @Override
    public void close() {
        for (AFUNIXSocket s : new AFUNIXSocket[] {kickOurs, kickTheirs, callOurs, callTheirs}) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
