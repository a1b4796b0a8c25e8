import AllauthRuntime
import CSQLite

#if canImport(Glibc)
import Glibc
#endif

/// `<database>-writer.lock`: the queue every writer of every thread and process joins before
/// `BEGIN IMMEDIATE`. Each connection opens its own file description, so flock separates threads
/// too. Writers wait in the kernel instead of sleep-polling in SQLite's busy handler, so no writer
/// oversleeps a released lock; and every wait ends at a deadline, so a lock held by a stopped or
/// stuck process (or `flock FILE sleep 60` from a shell) costs a request `database.busy_timeout`,
/// not forever.
///
/// flock(2) has no timeout of its own. Polling with LOCK_NB would give one, but a poller asleep
/// between attempts loses the lock to writers that arrive later, which is what the kernel's queue
/// avoids. So the blocking flock is kept, and cut short by a one-shot timer of the waiting thread
/// alone (`timer_create` with SIGEV_THREAD_ID) whose signal has a handler installed without
/// SA_RESTART: at the deadline flock returns EINTR, and nothing else in the process is touched.
final class WriterLock {
    private let fd: Int32
    private var timer: timer_t?
    /// The thread `timer` signals; a connection that moves to another thread gets a new timer.
    private var timerThread: pid_t = 0

    /// A real-time signal nothing else uses, with an empty handler: its only effect is to end the
    /// blocked flock of the thread it is sent to. Installed once per process, on first use.
    private static let wakeSignal: Int32 = {
        let signal = __libc_current_sigrtmin() + 7
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: the interrupted flock must return
        sigaction(signal, &action, nil)
        return signal
    }()

    init?(path: String) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { return nil }
    }

    deinit {
        if let timer { timer_delete(timer) }
        close(fd)
    }

    /// A wait past this is no longer the queue of writers, each holding the lock for a fraction of
    /// a millisecond, but a lock held long (a purge slice preempted, a stopped process): the thread
    /// then hands its turn over (`Blocking.handOver`), so its worker serves other requests (verify/, health/, reads)
    /// meanwhile.
    static let longWaitAfter: Double = 0.005

    /// Takes the lock, waiting until `deadline` at most; false if it was not free by then.
    func lock(until deadline: WaitDeadline) -> Bool {
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        let long = WaitDeadline(after: Self.longWaitAfter)
        var announced = false
        guard arm(at: long.nanoseconds < deadline.nanoseconds ? long : deadline) else {
            return poll(until: deadline)
        }
        // A thread may have been started with every signal blocked (Dispatch's threads are): the
        // timer's signal must reach this one while it waits.
        var wake = sigset_t(), previous = sigset_t()
        sigemptyset(&wake)
        sigaddset(&wake, Self.wakeSignal)
        pthread_sigmask(SIG_UNBLOCK, &wake, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        defer { disarm() }
        while true {
            if flock(fd, LOCK_EX) == 0 { return true }
            // EINTR from the timer, or from another signal: go on waiting until the deadline.
            if errno != EINTR || deadline.hasPassed { return false }
            if !announced && long.hasPassed {
                announced = true
                Blocking.handOver()
                guard arm(at: deadline) else { return poll(until: deadline) }
            }
        }
    }

    func unlock() { flock(fd, LOCK_UN) }

    /// Arms this thread's timer to fire once at `deadline` (an absolute monotonic time, so a wait
    /// interrupted by another signal and resumed keeps the same end).
    private func arm(at deadline: WaitDeadline) -> Bool {
        let thread = csqlite_gettid()
        if timer == nil || timerThread != thread {
            if let timer { timer_delete(timer) }
            timer = nil
            var event = sigevent()
            event.sigev_notify = Int32(SIGEV_THREAD_ID)
            event.sigev_signo = Self.wakeSignal
            event._sigev_un._tid = thread
            var created: timer_t?
            guard timer_create(CLOCK_MONOTONIC, &event, &created) == 0 else { return false }
            timer = created
            timerThread = thread
        }
        var setting = itimerspec(it_interval: timespec(), it_value: deadline.monotonicTime)
        return timer_settime(timer, TIMER_ABSTIME, &setting, nil) == 0
    }

    /// Stops the timer before flock's caller goes on: a signal raised after this point could cut
    /// short some other blocking call of the thread. One raised before it is delivered at the
    /// latest when this call returns, while the thread runs no other system call.
    private func disarm() {
        var zero = itimerspec()
        timer_settime(timer, 0, &zero, nil)
    }

    /// The fallback if no timer can be made (never seen on Linux): short jittered polls.
    private func poll(until deadline: WaitDeadline) -> Bool {
        while !deadline.hasPassed {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            Blocking.sleep(seconds: Double(200 + Int.random(in: 0..<800)) / 1_000_000)
        }
        return false
    }
}
