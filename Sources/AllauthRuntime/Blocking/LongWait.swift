/// Where a request thread says it is about to block for long: for a hashing slot or a hash, a call
/// to another server, a lock held far past its usual time. The transport runs only a few request
/// threads at once (`server.running_threads`, so that runnable threads do not outnumber the cores
/// and preempt the holder of the writer lock); a thread that announces a long wait gives its turn to
/// another thread, so the requests behind it are not held up by it. Announcing costs nothing when
/// nothing is installed (the command line, tests of the store alone).
public enum LongWait {
    /// Installed once by the worker before its request threads start (the FastCGI server's
    /// `yieldTurn`); called on the thread that is about to wait.
    nonisolated(unsafe) public static var handler: @Sendable () -> Void = {}

    /// The calling thread is about to block for long: let another request thread run meanwhile.
    /// Idempotent within one request.
    @inline(__always)
    public static func begin() { handler() }
}
