/**
 * A vhost-user frontend in pure Java with a virtual IOMMU: {@link io.jvhost.frontend.VirtioNetFrontend}
 * over a {@link io.jvhost.frontend.VhostUserConnection}.
 */
module io.jvhost.frontend {
    requires io.jvhost.core;
    requires org.newsclub.net.unix;

    exports io.jvhost.frontend;
}
