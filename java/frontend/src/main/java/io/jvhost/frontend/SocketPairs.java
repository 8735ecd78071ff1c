package io.jvhost.frontend;

import java.io.IOException;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * Connected pairs of Unix stream sockets, one end of which is passed to the backend.
 *
 * <p>Not {@code AFUNIXSocketPair}: in junixsocket 2.10.1 closing a socketpair's channels leaves
 * both descriptors open (measured), which would leak fds per device. A one-shot listener in the
 * abstract namespace leaves nothing behind. The end passed to the backend must stay open on our
 * side until the backend is done with it: closing it through junixsocket shuts the connection
 * down for the backend's copy too, even with {@code setShutdownOnClose(false)} (measured).
 */
final class SocketPairs {
    private SocketPairs() {
    }

    /** @return {ours, theirs}: a connected pair */
    static AFUNIXSocket[] connected(String tag, long timeoutNanos) throws IOException {
        AFUNIXSocket ours = null;
        try (AFUNIXServerSocket server = AFUNIXServerSocket.newInstance()) {
            server.bind(AFUNIXSocketAddress.inAbstractNamespace(
                    "jvhost-" + tag + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID()));
            server.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)));
            ours = AFUNIXSocket.connectTo(server.getLocalSocketAddress());
            AFUNIXSocket theirs = server.accept();
            return new AFUNIXSocket[] {ours, theirs};
        } catch (IOException | RuntimeException e) {
            if (ours != null) {
                try {
                    ours.close();
                } catch (IOException ignored) {
                    // failing anyway
                }
            }
            throw e;
        }
    }
}
