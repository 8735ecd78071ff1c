# Shared by the scripts: where the build puts its jars, and one way to build them.
# Source it after setting 'repo' to the repository's top directory.

# The executable jar of the jvhost command (java/cli, classifier "all").
cli_jar() {
    ls "$repo"/java/cli/target/jvhost-cli-*-all.jar 2>/dev/null | head -n 1
}

# Benchmarks and measuring tools with everything they need (java/bench, classifier "all").
bench_jar() {
    ls "$repo"/java/bench/target/jvhost-bench-*-all.jar 2>/dev/null | head -n 1
}

# The core library built with the native yardstick (native/bench), for the data-path benchmark.
bench_library() {
    echo "$repo/java/bench/target/native/libjvhost.so"
}

# Builds every jar without running the tests; extra arguments go to Maven (e.g. -Djvhost.bench.native=true).
build_jars() {
    (cd "$repo" && mvn -B -q -Dstyle.color=never -DskipTests -Djvhost.setup.skip=true "$@" package) >&2
}
