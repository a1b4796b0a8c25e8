import CEpoll
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Answers FastCGI requests on an inherited listening socket with `handler`, on `threads` threads
/// that share one epoll set, of which at most `runningThreads` take requests at once (a
/// `RunnerGate`; the others stand in for threads that announce a long wait, `yieldTurn`), and
/// one sweeper takes the requests they leave waiting (`hasSweeper`). Each thread owns one `State`
/// (e.g. its database connection), made by `makeState`.
///
/// Why an event loop and not one blocking accept loop per thread (libfcgi's model, used before):
/// nginx keeps upstream connections open (`fastcgi_keep_conn`), and a thread blocked on a kept
/// connection serves nobody else, so at saturation requests on new connections waited in the
/// listen backlog behind idle ones: seconds for some, under load (docs/sizing.md). Here a thread
/// is busy only while it handles a request; connections wait in epoll's ready list, which is
/// first come, first served, whichever connection a request arrived on.
public final class FastCGIServer<State>: @unchecked Sendable {
    /// The listening socket. FastCGI's own convention (FCGI_LISTENSOCK_FILENO) passes it as fd 0,
    /// as spawn-fcgi and systemd socket activation with `StandardInput=socket` do; we follow it so a
    /// worker can be run by any of them, not only by our master.
    public static var listenSocketFD: Int32 { 0 }

    private let listenFD: Int32
    private let threadCount: Int
    private let gate: RunnerGate
    private let decoder: RequestDecoder
    private let makeState: @Sendable () throws -> State
    private let handler: @Sendable (Request, State) -> Response
    private let logger: Logger

    private var epollFD: Int32 = -1
    private let shuttingDown = Atomic<Bool>(false)
    /// Connections accepted and not yet closed: a stopping worker serves them until nginx closes them.
    private let openConnections = Atomic<Int>(0)
    /// Written once by `shutdown`: level-triggered in the epoll set, so it wakes every thread.
    private var wakePipe: [Int32] = [-1, -1]
    private let finished = DispatchGroup()

    /// With fewer turns than threads, thread 0 is the sweeper: it takes no turn and never waits in
    /// epoll_wait, so no request wakes it; every few milliseconds (`SweepPace`) it takes the
    /// requests that are ready and that no runner has taken (all busy, or preempted), then sleeps.
    /// With one turn per worker this answers as fast as a single thread (no second thread woken per
    /// request, docs/sizing.md) without leaving the ready list to a runner that shares its core
    /// with a hash.
    private var hasSweeper: Bool { gate.turns < threadCount }
    /// Events taken by any thread, for the sweeper's pace (relaxed: only whether it moved matters).
    private let handled = Atomic<Int>(0)

    /// The sweeper sleeps 1 ms while the worker is answering requests, and backs off to 16 ms
    /// once nothing has been taken for a few sweeps: at 1 ms throughout, an idle pool spent 3 % of
    /// a core waking its sweepers. An idle worker needs no sweeper: a request wakes its runner.
    private struct SweepPace {
        private var last = 0
        private var quiet = 0

        mutating func sleep(handled: Int) {
            quiet = handled == last ? min(quiet + 1, 4) : 0
            last = handled
            var interval = timespec(tv_sec: 0, tv_nsec: 1_000_000 << quiet)
            nanosleep(&interval, nil)
        }
    }

    /// epoll tags for the two descriptors that are not connections (a connection's tag is its address).
    private static var listenTag: UInt64 { 0 }
    private static var wakeTag: UInt64 { 1 }

    public init(
        listenFD: Int32 = FastCGIServer.listenSocketFD,
        threads: Int,
        runningThreads: Int? = nil,
        maxBodyBytes: Int,
        logger: Logger,
        makeState: @escaping @Sendable () throws -> State,
        handler: @escaping @Sendable (Request, State) -> Response
    ) {
        self.listenFD = listenFD
        self.threadCount = max(1, threads)
        self.gate = RunnerGate(turns: min(threadCount, max(1, runningThreads ?? threadCount)))
        self.decoder = RequestDecoder(maxBodyBytes: maxBodyBytes)
        self.makeState = makeState
        self.handler = handler
        self.logger = logger
    }

    /// Starts the threads. Returns once every thread has made its state and is ready to serve.
    public func start() throws {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0, pipe(&wakePipe) == 0 else { throw FastCGIError.initFailed }
        // Every thread and every other worker races for each new connection: the losers get EAGAIN.
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
        guard watch(listenFD, tag: Self.listenTag, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, operation: EPOLL_CTL_ADD),
              watch(wakePipe[0], tag: Self.wakeTag, events: EPOLLIN.rawValue, operation: EPOLL_CTL_ADD)
        else { throw FastCGIError.initFailed }
        let ready = DispatchGroup()
        let startError = Mutex<Error?>(nil)
        for index in 0..<threadCount {
            ready.enter()
            finished.enter()
            let thread = Thread { [self] in
                defer { finished.leave() }
                let state: State
                do {
                    state = try makeState()
                } catch {
                    startError.withLock { $0 = error }
                    ready.leave()
                    return
                }
                ready.leave()
                eventLoop(state: state, sweeper: index == 0 && hasSweeper)
            }
            thread.name = "fcgi-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        ready.wait()
        if let error = startError.withLock({ $0 }) {
            shutdown(timeout: 2)
            throw error
        }
    }

    /// Graceful stop, without losing a request nginx has sent or is about to send: no new
    /// connection is accepted, and each connection nginx keeps open (`fastcgi_keep_conn`) is
    /// served until nginx closes it — after its upstream `keepalive_timeout` when idle, or after
    /// `keepalive_requests` — because nginx may be writing a request into it at any moment and
    /// does not retry a POST on a connection closed under it. Returns false if some connection was
    /// still open when `timeout` ran out (pair nginx's keepalive_timeout below it).
    @discardableResult
    public func shutdown(timeout: TimeInterval) -> Bool {
        if !shuttingDown.exchange(true, ordering: .sequentiallyConsistent) {
            // Stop accepting in this process only: the listening descriptor now names a socket that
            // listens to nothing. The other workers keep the real socket.
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
            let placeholder = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            if placeholder >= 0 {
                dup2(placeholder, listenFD)
                close(placeholder)
            }
            var byte: UInt8 = 1
            _ = write(wakePipe[1], &byte, 1)
            // Threads waiting for a turn must see the wake pipe too.
            gate.openForAll(threads: threadCount)
        }
        return finished.wait(timeout: .now() + timeout) == .success
    }

    // MARK: the loop

    private func watch(_ fd: Int32, tag: UInt64, events: UInt32, operation: Int32) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.u64 = tag
        return epoll_ctl(epollFD, operation, fd, &event) == 0
    }

    /// Called by a request thread about to block for long (`Blocking` in the service): it gives up
    /// its turn, so another thread takes requests meanwhile. After the wait it finishes its request
    /// and then queues for a turn again. A no-op on a thread without a turn (or not ours).
    public static func yieldTurn() {
        RunnerGate.yieldCurrentThreadsTurn()
    }

    private func eventLoop(state: State, sweeper: Bool) {
        var event = epoll_event()
        let turn = gate.enrol(sweeper: sweeper)
        defer { gate.leave(turn) }
        var sweeps = SweepPace()
        while true {
            // A thread takes requests only while it has a turn: threads beyond `runningThreads`
            // wait here, not runnable, instead of adding to the threads the cores take turns on.
            turn.take()
            let count = epoll_wait(epollFD, &event, 1, sweeper ? 0 : -1)
            if count < 0 && errno != EINTR { logger.error("epoll_wait failed", metadata: ["errno": "\(errno)"]); return }
            if count == 0 && sweeper { sweeps.sleep(handled: handled.load(ordering: .relaxed)) }
            if count <= 0 { continue }
            handled.add(1, ordering: .relaxed)
            switch event.data.u64 {
            case Self.listenTag:
                acceptConnections()
            case Self.wakeTag:
                // Stopping: leave once every connection is closed. The pipe stays readable, so each
                // thread comes back here; the short sleep keeps that from spinning.
                if openConnections.load(ordering: .sequentiallyConsistent) == 0 { return }
                usleep(10_000)
            default:
                let connection = Unmanaged<FastCGIConnection>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(event.data.u64))!)
                serve(connection, state: state)
            }
        }
    }

    /// Takes every pending connection, then re-arms the listening socket (one-shot: one thread at a
    /// time accepts, so the others are not all woken for each connection). Every one, not one per
    /// turn: under saturation the listening socket's turn comes once per round of the ready list,
    /// and nginx opens a connection every `keepalive_requests`; taking one per turn left new
    /// connections in the backlog for seconds (RS256 refresh p99 at 4.6× its mean, bench/run.sh).
    private func acceptConnections() {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break  // EAGAIN: none left, or another thread or worker took it; the placeholder after shutdown
            }
            // accept4 is not in Glibc's module; a new connection is rare next to the requests on it.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let connection = Unmanaged.passRetained(FastCGIConnection(fd: fd))
            openConnections.add(1, ordering: .sequentiallyConsistent)
            let tag = UInt64(UInt(bitPattern: connection.toOpaque()))
            if !watch(fd, tag: tag, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue, operation: EPOLL_CTL_ADD) {
                closeConnection(connection)
            }
        }
        if !shuttingDown.load(ordering: .sequentiallyConsistent) {
            _ = watch(listenFD, tag: Self.listenTag, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, operation: EPOLL_CTL_MOD)
        }
    }

    /// Reads what the connection has, answers each complete request, then waits for more (or closes).
    /// One-shot registration: no other thread sees this connection until it is re-armed here.
    private func serve(_ unmanaged: Unmanaged<FastCGIConnection>, state: State) {
        let connection = unmanaged.takeUnretainedValue()
        guard connection.readAvailable() else { return closeConnection(unmanaged) }
        while true {
            switch connection.nextEvent(maxBodyBytes: decoder.maxBodyBytes) {
            case .needMore:
                let tag = UInt64(UInt(bitPattern: unmanaged.toOpaque()))
                if !watch(connection.fd, tag: tag, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue, operation: EPOLL_CTL_MOD) {
                    closeConnection(unmanaged)
                }
                return
            case .reply(let bytes):
                guard connection.write(bytes) else { return closeConnection(unmanaged) }
            case .request(let id, let params, let body, let keep):
                guard let request = decoder.decode(rawParams: params, readBody: { count in Array(body.prefix(count)) }) else {
                    return closeConnection(unmanaged)  // a PARAMS length past its end: not nginx
                }
                let response = handler(request, state)
                guard connection.write(FastCGIRecord.answer(requestID: id, stdout: response.cgiBytes())), keep else {
                    return closeConnection(unmanaged)
                }
            case .protocolError:
                return closeConnection(unmanaged)
            }
        }
    }

    private func closeConnection(_ unmanaged: Unmanaged<FastCGIConnection>) {
        let connection = unmanaged.takeUnretainedValue()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, connection.fd, nil)
        close(connection.fd)
        unmanaged.release()
        // A stopping worker's threads leave once this reaches 0 (they poll it on the wake pipe).
        openConnections.subtract(1, ordering: .sequentiallyConsistent)
    }
}

public enum FastCGIError: Error, CustomStringConvertible {
    case initFailed
    case openSocketFailed(path: String, errno: Int32)
    case socketGroupFailed(path: String, group: gid_t, errno: Int32)

    public var description: String {
        switch self {
        case .initFailed: return "cannot set up the FastCGI event loop"
        case .openSocketFailed(let path, let code): return "cannot listen on \(path): \(String(cString: strerror(code)))"
        case .socketGroupFailed(let path, let group, let code):
            return "cannot give \(path) to group \(group) (the master must be a member of it): \(String(cString: strerror(code)))"
        }
    }
}
