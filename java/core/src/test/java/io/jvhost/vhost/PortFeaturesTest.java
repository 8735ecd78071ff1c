package io.jvhost.vhost;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.jvhost.protocol.VirtioFeature;
import io.jvhost.testing.SharedEal;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What a port offers, as DPDK reports it back (rte_vhost_driver_get_features). */
class PortFeaturesTest {
    @BeforeAll
    static void eal() {
        SharedEal.get();
    }

    private static long offered(VhostUserPort.Builder b) throws Exception {
        try (VhostUserPort port = b.open()) {
            return port.features();
        }
    }

    private static VhostUserPort.Builder port() throws Exception {
        return VhostUserPort.builder(Files.createTempDirectory("jvhost-features").resolve("s"));
    }

    /** DPDK 22.11 loses packed-ring frames that miss in the IOTLB: with the vIOMMU, split rings only. */
    @Test
    void withTheIommuPackedRingsAreOfferedOnlyWhenAskedFor() throws Exception {
        long plain = offered(port());
        long iommu = offered(port().iommu(true));
        long asked = offered(port().iommu(true).enableFeatures(VirtioFeature.RING_PACKED.mask()));
        assertThat("without the IOMMU DPDK offers packed rings", VirtioFeature.RING_PACKED.isIn(plain), equalTo(true));
        assertThat(VirtioFeature.IOMMU_PLATFORM.isIn(iommu), equalTo(true));
        assertThat("with the IOMMU packed rings are not offered", VirtioFeature.RING_PACKED.isIn(iommu), equalTo(false));
        assertThat("unless asked for", VirtioFeature.RING_PACKED.isIn(asked), equalTo(true));
        assertThat("nothing else changes", iommu | VirtioFeature.RING_PACKED.mask(), equalTo(asked));
    }

    @Test
    void aClosedPortSaysSo() throws Exception {
        VhostUserPort port = port().open();
        Path socket = port.socket();
        port.close();
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                port::features);
        assertThat(e.getMessage(), equalTo("vhost-user port " + socket + " is closed"));
    }
}
