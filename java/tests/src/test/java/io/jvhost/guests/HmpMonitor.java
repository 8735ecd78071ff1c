package io.jvhost.guests;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * QEMU's human monitor (HMP) on a unix socket ({@code -monitor unix:PATH,server=on,wait=off}): one
 * command at a time, the answer is what QEMU prints up to its next prompt.
 */
final class HmpMonitor implements AutoCloseable {
    private static final String PROMPT = "(qemu) ";
    private final SocketChannel channel;
    private final ByteBuffer buf = ByteBuffer.allocate(64 * 1024);

    private HmpMonitor(SocketChannel channel) {
        this.channel = channel;
    }

    /** Connects once QEMU has created the socket (waiting up to {@code seconds}) and reads the banner. */
    static HmpMonitor connect(Path socket, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            if (Files.exists(socket)) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    HmpMonitor m = new HmpMonitor(ch);
                    m.untilPrompt(deadline);
                    return m;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("no QEMU monitor at " + socket + " within " + seconds + " s");
            }
            Thread.sleep(100);
        }
    }

    /** Runs one command; returns QEMU's answer (the echoed command and the prompt left out). */
    String command(String cmd, long seconds) throws IOException {
        channel.write(ByteBuffer.wrap((cmd + "\n").getBytes(StandardCharsets.UTF_8)));
        String out = untilPrompt(System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds));
        // HMP echoes the line with terminal escapes; the answer starts after the first newline
        int nl = out.indexOf('\n');
        return nl < 0 ? "" : out.substring(nl + 1);
    }

    /** {@code quit}: QEMU exits without another prompt. */
    void quit() throws IOException {
        channel.write(ByteBuffer.wrap("quit\n".getBytes(StandardCharsets.UTF_8)));
    }

    private String untilPrompt(long deadline) throws IOException {
        StringBuilder sb = new StringBuilder();
        channel.configureBlocking(false);
        while (sb.indexOf(PROMPT) < 0) {
            buf.clear();
            int n = channel.read(buf);
            if (n < 0) {
                throw new IOException("QEMU closed its monitor; so far: " + sb);
            }
            if (n == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("no monitor prompt in time; so far: " + sb);
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                }
                continue;
            }
            buf.flip();
            sb.append(StandardCharsets.ISO_8859_1.decode(buf));
        }
        return sb.substring(0, sb.lastIndexOf(PROMPT)).replace("\r", "");
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
