/**
 * An event loop for vhost-user ports: one or several threads, each owning a set of (port, queue
 * pair)s, poll their devices and call a {@link io.jvhost.loop.BurstHandler} per burst; devices that
 * come and go are followed by the loop; an {@link io.jvhost.loop.IdleStrategy} decides how a thread
 * waits when there is no traffic. Start with {@link io.jvhost.loop.EventLoop#builder}.
 */
package io.jvhost.loop;
