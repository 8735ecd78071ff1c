package io.jvhost.protocol;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The codecs against the layouts of DPDK 22.11's lib/vhost/vhost_user.h ({@code VhostUserMsg}:
 * request, flags, size as u32, packed) and vhost.h ({@code struct vhost_iotlb_msg}: iova, size,
 * uaddr as u64, perm and type as u8, padded to 32 bytes by the u64 alignment), little-endian.
 */
class ProtocolCodecTest {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    @Test
    void theHeaderIsThreeLittleEndianU32() {
        MessageHeader h = MessageHeader.of(FrontendRequest.IOTLB_MSG, MessageHeader.NEED_REPLY, 32);
        assertThat(HexFormat.of().formatHex(h.toBytes()), equalTo("16000000" + "09000000" + "20000000"));
        assertThat(MessageHeader.decode(h.toBytes(), 0), equalTo(h));
        assertThat(h.version(), is(1));
        assertThat(h.needsReply(), is(true));
        assertThat(h.isReply(), is(false));
        assertThat(h.isValid(), is(true));
        assertThat(h.frontendRequest(), is(FrontendRequest.IOTLB_MSG));
        assertThat(MessageHeader.BYTES, is(12));
    }

    @Test
    void theHeaderCodecIgnoresTheBuffersOrderAndMovesItsPosition() {
        ByteBuffer big = ByteBuffer.allocate(20).order(ByteOrder.BIG_ENDIAN);
        big.position(3);
        MessageHeader h = MessageHeader.of(BackendRequest.IOTLB_MSG, MessageHeader.REPLY, 8);
        h.encode(big);
        assertThat(big.position(), is(15));
        assertThat(big.order(), is(ByteOrder.BIG_ENDIAN));
        assertThat(big.order(ByteOrder.LITTLE_ENDIAN).getInt(3), is(1));
        assertThat(big.getInt(7), is(0x5));
        big.order(ByteOrder.BIG_ENDIAN).position(3);
        assertThat(MessageHeader.decode(big), equalTo(h));
        assertThat(big.position(), is(15));
    }

    @Test
    void decodedHeadersKeepWhatThePeerSent() {
        MessageHeader h = MessageHeader.decode(hex("ffffffff 020000f0 00100001"), 0);
        assertThat(h.request(), is(-1));
        assertThat(h.payloadSize(), is(0x0100_1000L));
        assertThat(h.flags(), is(0xf000_0002));
        assertThat(h.version(), is(2));
        assertThat(h.isValid(), is(false));
        assertThrows(IllegalArgumentException.class, h::frontendRequest);
        assertThat(MessageHeader.decode(hex("01000000 01000000 00100000"), 0).isValid(), is(true));
        assertThat(MessageHeader.decode(hex("01000000 01000000 01100000"), 0).isValid(), is(false));
        assertThat(MessageHeader.decode(hex("01000000 11000000 00000000"), 0).isValid(), is(false));
    }

    @Test
    void headersRejectBadInput() {
        assertThrows(IllegalArgumentException.class, () -> MessageHeader.of(FrontendRequest.SET_OWNER, 0x1, 0));
        assertThrows(IllegalArgumentException.class, () -> MessageHeader.of(FrontendRequest.SET_OWNER, 0x10, 0));
        assertThrows(IllegalArgumentException.class, () -> MessageHeader.of(FrontendRequest.SET_OWNER, 0, -1));
        assertThrows(IllegalArgumentException.class,
                () -> MessageHeader.of(FrontendRequest.SET_OWNER, 0, MessageHeader.MAX_PAYLOAD + 1));
        assertThrows(NullPointerException.class, () -> MessageHeader.of((FrontendRequest) null, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> MessageHeader.decode(new byte[11], 0));
        assertThrows(IllegalArgumentException.class, () -> MessageHeader.decode(new byte[12], 1));
        assertThrows(IllegalArgumentException.class, () -> MessageHeader.decode(new byte[12], -1));
        assertThrows(IllegalArgumentException.class, () -> MessageHeader.decode(ByteBuffer.allocate(11)));
        ByteBuffer small = ByteBuffer.allocate(11);
        assertThrows(IllegalArgumentException.class, () -> MessageHeader.decode(new byte[12], 0).encode(small));
        assertThat("nothing written or moved", small.position(), is(0));
    }

    @Test
    void theIotlbMessageLayoutIsDpdks() {
        VhostIotlbMsg m = VhostIotlbMsg.update(0x1122_3344_5566_7788L, 0x1000, 0x7f00_0000_1000L, Access.WO);
        byte[] b = m.toBytes();
        assertThat(b.length, is(32));
        assertThat(HexFormat.of().formatHex(b), equalTo("8877665544332211" + "0010000000000000" + "00100000007f0000"
                + "02" + "02" + "000000000000"));
        assertThat(VhostIotlbMsg.decode(b, 0), equalTo(m));
        assertThat(m.access(), is(Access.WO));
        assertThat(m.iotlbType(), is(IotlbType.UPDATE));
        assertThat(m.isValid(), is(true));
        assertThat(VhostIotlbMsg.invalidate(1, 2), equalTo(new VhostIotlbMsg(1, 2, 0, 0, 3)));
        assertThat(VhostIotlbMsg.miss(0x9000, Access.RO), equalTo(new VhostIotlbMsg(0x9000, 0, 0, 1, 1)));
        assertThat(m.toString(), equalTo("UPDATE iova 0x1122334455667788 size 0x1000 uaddr 0x7f0000001000 perm 2"));
    }

    @Test
    void iotlbMessagesRoundTripThroughBuffersAndWholeMessages() {
        Random rnd = new Random(14);
        for (int i = 0; i < 1000; i++) {
            VhostIotlbMsg m = new VhostIotlbMsg(rnd.nextLong(), rnd.nextLong(), rnd.nextLong(), rnd.nextInt(256),
                    rnd.nextInt(256));
            ByteBuffer buf = ByteBuffer.allocate(40).order(rnd.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
            buf.position(i % 8);
            m.encode(buf);
            assertThat(buf.position(), is(i % 8 + 32));
            buf.position(i % 8);
            assertThat(VhostIotlbMsg.decode(buf), equalTo(m));
            assertThat(buf.position(), is(i % 8 + 32));

            Message msg = Message.iotlb(BackendRequest.IOTLB_MSG, 0, m);
            byte[] wire = msg.toBytes();
            assertThat(wire.length, is(44));
            assertThat(Message.decode(wire), equalTo(msg));
            assertThat(Message.decode(wire).iotlb(), equalTo(m));
        }
    }

    @Test
    void aPayloadMayOmitThePadding() {
        VhostIotlbMsg m = VhostIotlbMsg.miss(0xabc000, Access.RW);
        byte[] fields = java.util.Arrays.copyOf(m.toBytes(), VhostIotlbMsg.FIELD_BYTES);
        assertThat(VhostIotlbMsg.decode(fields, 0), equalTo(m));
        ByteBuffer b = ByteBuffer.wrap(fields);
        assertThat(VhostIotlbMsg.decode(b), equalTo(m));
        assertThat(b.remaining(), is(0));
        assertThrows(IllegalArgumentException.class, () -> VhostIotlbMsg.decode(new byte[25], 0));
        assertThrows(IllegalArgumentException.class, () -> VhostIotlbMsg.decode(ByteBuffer.allocate(25)));
    }

    @Test
    void undefinedWireValuesAreKeptButNotTyped() {
        VhostIotlbMsg m = VhostIotlbMsg.decode(hex("00 00000000000000 0000000000000000 0000000000000000 7f 4d 000000000000"), 0);
        assertThat(m.perm(), is(0x7f));
        assertThat(m.type(), is(77));
        assertThat(m.isValid(), is(false));
        assertThat(m.typeName(), equalTo("type(77)"));
        assertThrows(IllegalArgumentException.class, m::access);
        assertThrows(IllegalArgumentException.class, m::iotlbType);
        assertThat(VhostIotlbMsg.decode(m.toBytes(), 0), equalTo(m));
    }

    @Test
    void iotlbMessagesRejectBadInput() {
        assertThrows(IllegalArgumentException.class, () -> new VhostIotlbMsg(0, 0, 0, 256, 2));
        assertThrows(IllegalArgumentException.class, () -> new VhostIotlbMsg(0, 0, 0, -1, 2));
        assertThrows(IllegalArgumentException.class, () -> new VhostIotlbMsg(0, 0, 0, 1, 0x100));
        assertThrows(NullPointerException.class, () -> VhostIotlbMsg.update(0, 0, 0, null));
        assertThrows(NullPointerException.class, () -> VhostIotlbMsg.of(0, 0, 0, Access.RO, null));
        assertThrows(IllegalArgumentException.class, () -> VhostIotlbMsg.invalidate(0, 0).encode(ByteBuffer.allocate(31)));
    }

    @Test
    void wholeMessagesMustMatchTheirHeader() {
        byte[] wire = Message.of(FrontendRequest.SET_FEATURES, 0, new byte[8]).toBytes();
        assertThat(HexFormat.of().formatHex(wire, 0, 12), equalTo("020000000100000008000000"));
        assertThrows(IllegalArgumentException.class, () -> Message.decode(java.util.Arrays.copyOf(wire, 19)));
        assertThrows(IllegalArgumentException.class, () -> Message.decode(java.util.Arrays.copyOf(wire, 21)));
        assertThrows(IllegalArgumentException.class, () -> Message.decode(new byte[3]));
        assertThrows(IllegalArgumentException.class,
                () -> new Message(MessageHeader.of(FrontendRequest.SET_OWNER, 0, 1), new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> Message.of(FrontendRequest.GET_FEATURES, 0, new byte[0]).u64());
        assertThrows(IllegalArgumentException.class, () -> Message.of(BackendRequest.IOTLB_MSG, 0, new byte[8]).iotlb());
        byte[] p = {1, 0, 0, 0, 0, 0, 0, 0};
        Message m = Message.of(FrontendRequest.GET_FEATURES, MessageHeader.REPLY, p);
        p[0] = 9;
        assertThat("the payload was copied", m.u64(), is(1L));
        m.payload()[0] = 9;
        assertThat("and is copied out", m.u64(), is(1L));
    }

    @Test
    void requestCodesAreTheSpecs() {
        assertThat(FrontendRequest.GET_FEATURES.code(), is(1));
        assertThat(FrontendRequest.SET_MEM_TABLE.code(), is(5));
        assertThat(FrontendRequest.GET_VRING_BASE.code(), is(11));
        assertThat(FrontendRequest.SET_BACKEND_REQ_FD.code(), is(21));
        assertThat(FrontendRequest.IOTLB_MSG.code(), is(22));
        assertThat(FrontendRequest.GET_STATUS.code(), is(40));
        assertThat(FrontendRequest.of(16), is(FrontendRequest.SET_PROTOCOL_FEATURES));
        assertThat(BackendRequest.of(1), is(BackendRequest.IOTLB_MSG));
        assertThat(FrontendRequest.nameOf(23), equalTo("REQUEST_23"));
        assertThat(FrontendRequest.nameOf(9), equalTo("SET_VRING_ADDR"));
        assertThat(BackendRequest.nameOf(4), equalTo("REQUEST_4"));
        assertThrows(IllegalArgumentException.class, () -> FrontendRequest.of(0));
        assertThrows(IllegalArgumentException.class, () -> FrontendRequest.of(23));
        assertThrows(IllegalArgumentException.class, () -> BackendRequest.of(0));
        assertThrows(IllegalArgumentException.class, () -> BackendRequest.of(4));
    }

    @Test
    void accessAndTypeWireValues() {
        assertThat(Access.NONE.wire(), is(0));
        assertThat(Access.RO.wire(), is(1));
        assertThat(Access.WO.wire(), is(2));
        assertThat(Access.RW.wire(), is(3));
        for (Access a : Access.values()) {
            assertThat(Access.ofWire(a.wire()), is(a));
        }
        assertThat(Access.RW.allows(Access.WO), is(true));
        assertThat(Access.RO.allows(Access.WO), is(false));
        assertThat(Access.RO.allows(Access.RW), is(false));
        assertThat(Access.RO.canRead() && !Access.RO.canWrite(), is(true));
        assertThat(Access.nameOf(5), equalTo("perm(5)"));
        assertThrows(IllegalArgumentException.class, () -> Access.ofWire(4));
        assertThrows(IllegalArgumentException.class, () -> Access.ofWire(-1));
        assertThrows(IllegalArgumentException.class, () -> Access.requireSome(Access.NONE));
        assertThrows(NullPointerException.class, () -> Access.requireSome(null));
        assertThat(IotlbType.MISS.wire(), is(1));
        assertThat(IotlbType.UPDATE.wire(), is(2));
        assertThat(IotlbType.INVALIDATE.wire(), is(3));
        assertThat(IotlbType.ACCESS_FAIL.wire(), is(4));
        assertThrows(IllegalArgumentException.class, () -> IotlbType.ofWire(0));
        assertThrows(IllegalArgumentException.class, () -> IotlbType.ofWire(5));
    }

    @Test
    void featureBitsAreDpdks() {
        assertThat(VirtioFeature.IOMMU_PLATFORM.bit(), is(33));
        assertThat(VirtioFeature.VERSION_1.bit(), is(32));
        assertThat(VirtioFeature.PROTOCOL_FEATURES.bit(), is(30));
        assertThat(VirtioFeature.NET_MRG_RXBUF.bit(), is(15));
        assertThat(VirtioFeature.NET_MQ.cName(), equalTo("VIRTIO_NET_F_MQ"));
        assertThat(ProtocolFeature.REPLY_ACK.bit(), is(3));
        assertThat(ProtocolFeature.BACKEND_REQ.bit(), is(5));
        assertThat(ProtocolFeature.BACKEND_REQ.cName(), equalTo("VHOST_USER_PROTOCOL_F_SLAVE_REQ"));
        assertThat(ProtocolFeature.STATUS.bit(), is(16));
        long m = FeatureBit.maskOf(VirtioFeature.IOMMU_PLATFORM, VirtioFeature.VERSION_1,
                VirtioFeature.PROTOCOL_FEATURES);
        assertThat(m, is((1L << 33) | (1L << 32) | (1L << 30)));
        assertThat(VirtioFeature.VERSION_1.isIn(m), is(true));
        assertThat(VirtioFeature.NET_MQ.isIn(m), is(false));
        assertThat(FeatureBit.names(VirtioFeature.class, m | (1L << 63)), contains("PROTOCOL_FEATURES", "VERSION_1", "IOMMU_PLATFORM",
                "bit63"));
        assertThat(FeatureBit.ofBit(ProtocolFeature.class, 5), is(ProtocolFeature.BACKEND_REQ));
        assertThrows(IllegalArgumentException.class, () -> FeatureBit.ofBit(ProtocolFeature.class, 17));
        assertThrows(IllegalArgumentException.class, () -> FeatureBit.ofBit(VirtioFeature.class, 64));
        assertThrows(NullPointerException.class, () -> FeatureBit.maskOf(VirtioFeature.NET_MQ, null));
    }

    @Test
    void memoryRegionsTestAddressesAsDpdkDoes() {
        MemoryRegion r = new MemoryRegion(0x1000, 0x7f00_0000_0000L, 0x7a00_0000_0000L, 0x2000, 0x3000);
        assertThat(r.holdsGuestPhysical(0x1000), is(true));
        assertThat(r.holdsGuestPhysical(0x2fff), is(true));
        assertThat(r.holdsGuestPhysical(0x3000), is(false));
        assertThat(r.holdsGuestPhysical(0xfff), is(false));
        assertThat(r.holdsFrontend(0x7f00_0000_1fffL), is(true));
        MemoryRegion wraps = new MemoryRegion(-0x1000, 0, 0, 0x2000, 0);
        assertThat("the end wraps to 0x1000: nothing is >= start and < end", wraps.holdsGuestPhysical(-0x800), is(false));
        assertThat(r.sameAsSent(new MemoryRegion(0x1000, 0x7f00_0000_0000L, 0, 0x2000, 0)), is(true));
        assertThat(r.sameAsSent(new MemoryRegion(0x1000, 0x7f00_0000_0000L, 0, 0x3000, 0)), is(false));
        assertThrows(IllegalArgumentException.class, () -> new MemoryRegion(0, 0, 0, 0x2000, 0x1000));
        assertThat(new MemoryRegion(0, 0, 0, -1L, -1L).mmapSize(), is(-1L));
    }
}
