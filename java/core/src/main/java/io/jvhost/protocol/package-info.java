/**
 * The vocabulary of the vhost-user protocol as DPDK 22.11 and QEMU speak it, in one place: the
 * request codes of both directions ({@link io.jvhost.protocol.FrontendRequest},
 * {@link io.jvhost.protocol.BackendRequest}), the message header and its flags
 * ({@link io.jvhost.protocol.MessageHeader}), whole messages ({@link io.jvhost.protocol.Message}),
 * the virtio and vhost-user protocol feature bits ({@link io.jvhost.protocol.VirtioFeature},
 * {@link io.jvhost.protocol.ProtocolFeature}), {@code struct vhost_iotlb_msg}
 * ({@link io.jvhost.protocol.VhostIotlbMsg} with {@link io.jvhost.protocol.IotlbType} and
 * {@link io.jvhost.protocol.Access}) and a region of the memory table
 * ({@link io.jvhost.protocol.MemoryRegion}).
 *
 * <p>The shape follows rust-vmm's {@code vhost_user/message.rs}; the codes and layouts follow the
 * vhost-user specification and DPDK's {@code lib/vhost/vhost_user.h} and {@code vhost.h}. Every
 * number on the wire is little-endian. The codecs read and write {@link java.nio.ByteBuffer}s in
 * little-endian order whatever the buffer's own order is, and never change that order.
 *
 * <p>Everything here is a small immutable value or an enum, safe to share between threads. Values
 * made from typed arguments are checked ({@link java.lang.IllegalArgumentException} for bad
 * ones); values decoded from the wire keep what the peer sent, so that a hostile or buggy peer can
 * be represented, and their typed views ({@code access()}, {@code iotlbType()},
 * {@code frontendRequest()}) refuse values the protocol does not define.
 */
package io.jvhost.protocol;
