import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// At most `turns` threads of a `FastCGIServer` take requests at once; the server's other threads
/// wait for a turn, asleep. A thread that is about to block for long (a password hash, a call to
/// another server, a lock held past its usual time) gives its turn up (`yieldCurrentThreadsTurn`),
/// so the requests behind it go on with another thread.
///
/// Why: with every thread taking requests, a worker under load had as many runnable threads as
/// requests in flight. The cores then took turns between them in scheduler slices of milliseconds,
/// and a thread holding SQLite's writer lock, preempted, held up every writer queued behind it:
/// ES256 refresh p99 7× its mean at 2×16 threads, 2.2× at 2×2 (docs/sizing.md). Each request
/// also woke a sleeping thread, so fewer running threads answer verify/ faster.
/// Threads beyond the turns are still needed, for the requests that wait: hashing slots, mail
/// and identity providers, locks held by a stuck process.
///
/// One thread may be the server's sweeper (`enrol(sweeper: true)`), outside the turns: it holds
/// no turn but lends one while it waits for long, and takes it back after (`debt`, paid by the
/// next runner to finish a request).
final class RunnerGate: @unchecked Sendable {
    // @unchecked: the semaphore is used only through sem_* calls, which are thread-safe.
    private let semaphore: UnsafeMutablePointer<sem_t>
    /// Set when the server stops: every thread then runs, to find the wake pipe and leave.
    private let open = Atomic<Bool>(false)
    /// Turns lent by the sweeper and not yet given back: a runner that finishes a request while this
    /// is positive gives its turn up without passing it on.
    private let debt = Atomic<Int>(0)

    /// The `Turn` of the calling thread, for `yieldCurrentThreadsTurn`.
    private static let threadTurn: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    let turns: Int

    init(turns: Int) {
        self.turns = max(1, turns)
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, UInt32(self.turns))
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    /// A thread's place in the gate; it holds a turn between `take` and `yield`.
    final class Turn {
        private let gate: RunnerGate
        /// The sweeper's turn is not one of the gate's: it is lent while it waits, not given up.
        private let sweeper: Bool
        private var held: Bool

        init(gate: RunnerGate, sweeper: Bool) {
            self.gate = gate
            self.sweeper = sweeper
            held = sweeper
        }

        /// Waits for a turn unless the thread holds one already (a thread keeps its turn from one
        /// request to the next: handing it over each time would wake another thread per request).
        /// A runner first pays back a turn the sweeper lent; the sweeper takes its lent turn back
        /// without waiting.
        func take() {
            if sweeper {
                if !held { gate.reclaim() }
            } else {
                if held, gate.payDebt() { held = false }
                if !held { gate.acquire() }
            }
            held = true
        }

        func yield() {
            guard held else { return }
            held = false
            gate.release()
        }

        /// The thread ends: a runner passes its turn on; the sweeper's was never one of the gate's.
        fileprivate func end() {
            if sweeper { held = false } else { yield() }
        }
    }

    /// Makes the calling thread's `Turn`, found again by `yieldCurrentThreadsTurn`; `leave` when
    /// the thread ends.
    func enrol(sweeper: Bool = false) -> Turn {
        let turn = Turn(gate: self, sweeper: sweeper)
        pthread_setspecific(Self.threadTurn, Unmanaged.passRetained(turn).toOpaque())
        return turn
    }

    func leave(_ turn: Turn) {
        turn.end()
        if let pointer = pthread_getspecific(Self.threadTurn) {
            pthread_setspecific(Self.threadTurn, nil)
            Unmanaged<Turn>.fromOpaque(pointer).release()
        }
    }

    /// Every thread runs from now on (the server is stopping).
    func openForAll(threads: Int) {
        open.store(true, ordering: .sequentiallyConsistent)
        for _ in 0..<threads { sem_post(semaphore) }
    }

    /// The calling thread gives up its turn, if it is a server thread holding one.
    static func yieldCurrentThreadsTurn() {
        guard let pointer = pthread_getspecific(threadTurn) else { return }
        Unmanaged<Turn>.fromOpaque(pointer).takeUnretainedValue().yield()
    }

    private func acquire() {
        if open.load(ordering: .sequentiallyConsistent) { return }
        // EINTR: a signal for this thread (the writer lock's timer is disarmed before it returns,
        // but another handler may run); wait on.
        while sem_wait(semaphore) != 0 && errno == EINTR {}
    }

    private func release() { sem_post(semaphore) }

    /// The sweeper, back from a long wait, takes its lent turn back: a free one if there is one,
    /// else from the next runner that finishes a request.
    private func reclaim() {
        if open.load(ordering: .sequentiallyConsistent) || sem_trywait(semaphore) == 0 { return }
        debt.add(1, ordering: .sequentiallyConsistent)
    }

    /// True when the calling runner should give up its turn to pay back one the sweeper lent.
    private func payDebt() -> Bool {
        var owed = debt.load(ordering: .relaxed)
        while owed > 0 {
            let (exchanged, current) = debt.compareExchange(expected: owed, desired: owed - 1, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            owed = current
        }
        return false
    }
}
