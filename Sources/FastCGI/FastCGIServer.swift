import CFastCGI
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs `threads` blocking accept loops on an inherited listening socket and answers each request
/// with `handler`. Each thread owns one `State` (e.g. its database connection), made by `makeState`.
public final class FastCGIServer<State>: @unchecked Sendable {
    /// The listening socket. FastCGI's own convention (FCGI_LISTENSOCK_FILENO) passes it as fd 0,
    /// as spawn-fcgi and systemd socket activation with `StandardInput=socket` do; we follow it so a
    /// worker can be run by any of them, not only by our master.
    public static var listenSocketFD: Int32 { 0 }

    private let listenFD: Int32
    private let threadCount: Int
    private let decoder: RequestDecoder
    private let makeState: @Sendable () throws -> State
    private let handler: @Sendable (Request, State) -> Response
    private let logger: Logger

    private let shuttingDown = Atomic<Bool>(false)
    private let registry = Mutex<[ObjectIdentifier: ThreadSlot]>([:])
    private let finished = DispatchGroup()

    /// Per-thread bookkeeping so that a graceful stop can wake exactly the threads that sit idle in accept().
    private final class ThreadSlot: @unchecked Sendable {
        var thread: pthread_t
        let idle = Atomic<Bool>(true)
        init(thread: pthread_t) { self.thread = thread }
    }

    public init(
        listenFD: Int32 = FastCGIServer.listenSocketFD,
        threads: Int,
        maxBodyBytes: Int,
        logger: Logger,
        makeState: @escaping @Sendable () throws -> State,
        handler: @escaping @Sendable (Request, State) -> Response
    ) {
        self.listenFD = listenFD
        self.threadCount = max(1, threads)
        self.decoder = RequestDecoder(maxBodyBytes: maxBodyBytes)
        self.makeState = makeState
        self.handler = handler
        self.logger = logger
    }

    /// Starts the accept threads. Returns once every thread has made its state and is ready to accept.
    public func start() throws {
        guard FCGX_Init() == 0 else { throw FastCGIError.initFailed }
        Self.installWakeHandler()
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
                let slot = ThreadSlot(thread: pthread_self())
                registry.withLock { $0[ObjectIdentifier(slot)] = slot }
                ready.leave()
                acceptLoop(state: state, slot: slot)
                _ = registry.withLock { $0.removeValue(forKey: ObjectIdentifier(slot)) }
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

    /// Graceful stop: no new requests are taken, requests in flight finish, then the threads end.
    /// Returns false if some thread was still busy when `timeout` ran out.
    @discardableResult
    public func shutdown(timeout: TimeInterval) -> Bool {
        shuttingDown.store(true, ordering: .sequentiallyConsistent)
        FCGX_ShutdownPending()
        let deadline = Date().addingTimeInterval(timeout)
        // A thread may be between its idle check and accept() when we signal; keep waking idle
        // threads until all have left, so none stays blocked in accept.
        while finished.wait(timeout: .now() + .milliseconds(20)) == .timedOut {
            if Date() > deadline { return false }
            registry.withLock { slots in
                for slot in slots.values where slot.idle.load(ordering: .sequentiallyConsistent) {
                    pthread_kill(slot.thread, SIGUSR2)
                }
            }
        }
        return true
    }

    private func acceptLoop(state: State, slot: ThreadSlot) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        // FAIL_ACCEPT_ON_INTR: our wake-up signal must make accept() return instead of restarting.
        guard FCGX_InitRequest(request, listenFD, FCGI_FAIL_ACCEPT_ON_INTR) == 0 else {
            logger.error("FCGX_InitRequest failed")
            return
        }
        while !shuttingDown.load(ordering: .sequentiallyConsistent) {
            slot.idle.store(true, ordering: .sequentiallyConsistent)
            let accepted = FCGX_Accept_r(request)
            slot.idle.store(false, ordering: .sequentiallyConsistent)
            if accepted < 0 {
                if shuttingDown.load(ordering: .sequentiallyConsistent) { break }
                // EINTR without a stop, or a connection that failed before its request: try again.
                continue
            }
            serve(request, state: state)
            FCGX_Finish_r(request)
        }
        FCGX_Free(request, 1)
    }

    private func serve(_ raw: UnsafeMutablePointer<FCGX_Request>, state: State) {
        let params = Self.params(raw.pointee.envp)
        let input = raw.pointee.in
        let request = decoder.decode(params: params) { count in
            Self.read(count, from: input)
        }
        let response = handler(request, state)
        let bytes = response.cgiBytes()
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                _ = FCGX_PutStr(chars.baseAddress, Int32(chars.count), raw.pointee.out)
            }
        }
    }

    private static func params(_ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [(name: String, value: [UInt8])] {
        var result: [(name: String, value: [UInt8])] = []
        guard var cursor = envp else { return result }
        while let entry = cursor.pointee {
            let length = strlen(entry)
            let bytes = UnsafeRawBufferPointer(start: entry, count: length)
            if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: bytes[..<equals], as: UTF8.self)
                result.append((name, Array(bytes[(equals + 1)...])))
            }
            cursor += 1
        }
        return result
    }

    private static func read(_ count: Int, from stream: UnsafeMutablePointer<FCGX_Stream>?) -> [UInt8] {
        guard count > 0, let stream else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBufferPointer { pointer in
                pointer.baseAddress!.advanced(by: filled).withMemoryRebound(to: CChar.self, capacity: count - filled) {
                    FCGX_GetStr($0, Int32(count - filled), stream)
                }
            }
            if got <= 0 { break }
            filled += Int(got)
        }
        buffer.removeLast(count - filled)
        return buffer
    }

    /// SIGUSR2 interrupts a blocked accept(); the handler itself does nothing.
    private static func installWakeHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // deliberately no SA_RESTART
        sigaction(SIGUSR2, &action, nil)
    }
}

public enum FastCGIError: Error, CustomStringConvertible {
    case initFailed
    case openSocketFailed(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .initFailed: return "FCGX_Init failed"
        case .openSocketFailed(let path, let code): return "cannot listen on \(path): \(String(cString: strerror(code)))"
        }
    }
}
