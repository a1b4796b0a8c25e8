#if canImport(Glibc)
import Glibc
#endif

/// The one way a request thread blocks for long: for a hashing slot or a hash, a call to another
/// server, a lock held far past its usual time, a deliberate delay. The transport runs only a few
/// request threads at once (`server.running_threads`, so that runnable threads do not outnumber the
/// cores and preempt the holder of the writer lock); a thread that blocks here first gives its turn
/// to another thread, so the requests behind it are not held up by it.
///
/// `scripts/layers.py` (in `make test`) refuses a sleep, a libcurl transfer or a blocking flock in
/// the service's targets outside this file and the store's lock waits, which hand over themselves
/// through `handOver()`; password hashing is reachable only through `BudgetedHasher`, which runs
/// it here. Handing over costs nothing when nothing is installed (the command line, tests of the
/// store alone).
public enum Blocking {
    /// Installed once by the worker before its request threads start (the FastCGI server's
    /// `yieldTurn`); called on the thread that is about to wait.
    nonisolated(unsafe) public static var handler: @Sendable () -> Void = {}

    /// The calling thread is about to block for long: let another request thread run meanwhile.
    /// Idempotent within one request. For a wait that turns long partway (a lock that was
    /// expected to come free soon); otherwise `run` or `sleep`.
    @inline(__always)
    public static func handOver() { handler() }

    /// Runs `wait`, a call that blocks (a hash in its slot, a request to another server), after
    /// handing this thread's turn over.
    @inline(__always)
    public static func run<T, E: Error>(_ wait: () throws(E) -> T) throws(E) -> T {
        handler()
        return try wait()
    }

    /// Sleeps `seconds` (a deliberate delay, a back-off) with the turn handed over.
    public static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        handler()
        usleep(UInt32(min(seconds, 4_000) * 1_000_000))
    }
}
