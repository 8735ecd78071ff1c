package io.jvhost.serve;

/** What {@link PortServer} does with the packets of its ports. */
public enum Mode {
    /** Each port's packets go back to it, on the same queue pair. */
    LOOPBACK,
    /**
     * As {@link #LOOPBACK}, with each frame's Ethernet destination and source addresses swapped in
     * place (what dpdk-testpmd's {@code --forward-mode=macswap} does): a network function's
     * smallest per-packet work, through {@link io.jvhost.mbuf.Packet}'s typed access.
     */
    MACSWAP,
    /** Two ports: what one receives goes out of the other, queue pair to queue pair. */
    FORWARD,
    /** Packets are counted and freed. */
    SINK,
    /** Packets of a given size are generated and sent, at a given rate or as fast as possible. */
    SOURCE
}
