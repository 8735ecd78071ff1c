package io.jvhost.metrics;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.jvhost.testing.ForkedJvm;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** MBeans and the endpoint read during and after EAL's close: no crash, no error, "closed" and the last counts. */
class MetricsAfterEalCloseTest {
    @Test
    void readsDuringAndAfterEalCloseReportClosedWithTheLastCounts() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(MetricsAfterEalClose.class);
        String out = r.output();
        assertThat(r.toString(), r.exitCode(), equalTo(0));
        assertThat(out, containsString("Open=false\n"));
        assertThat(out, containsString("Connected=false\n"));
        assertThat(out, containsString("Vid=-1\n"));
        assertThat(out, containsString("Features=0\n"));
        assertThat(out, containsString("registered after close: false"));
        Matcher sent = Pattern.compile("sent=(\\d+)").matcher(out);
        assertThat(out, sent.find(), equalTo(true));
        assertThat(out, containsString("RxPackets=" + sent.group(1) + "\n"));
        assertThat(out, containsString("\",queue=\"0\"} " + sent.group(1) + "\n"));
        assertThat(out, containsString("jvhost_port_open{port=\""));
        assertThat(out, containsString("\"open\":false,\"connected\":false,\"vid\":-1"));
    }
}
