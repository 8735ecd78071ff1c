package com.example.consumer;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostListener;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The README's API example as an application: a vhost-user port that echoes what the first
 * frontend sends, until it leaves. Argument: the socket path (default /tmp/vhost0.sock).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        // README:begin (ConsumerProjectIT checks that this is the README's example, line for line)
        Path socket = Path.of(args.length > 0 ? args[0] : "/tmp/vhost0.sock");
        try (Eal eal = Eal.start(EalConfig.defaults());
             MbufPool pool = MbufPool.create(8192);
             VhostUserPort port = VhostUserPort.builder(socket)
                     .iommu(true).listener(new VhostListener() {
                         @Override public void newDevice(VhostDevice d) { System.out.println("up: " + d); }
                     }).open();
             PacketBatch batch = PacketBatch.allocate(32)) {
            VhostDevice dev = port.awaitDevice(Duration.ofSeconds(30));
            while (dev.isAlive()) {
                if (batch.isEmpty()) {
                    dev.dequeue(0, pool, batch);      // what the guest sent (queue pair 0)
                }
                dev.enqueue(0, batch);                // back to the guest; what it did not take stays in the batch
            }
        }
        // README:end
    }
}
