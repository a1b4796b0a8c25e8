import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A fleet of clients, each refreshing its own session in a loop as an app would: keep the new
/// token on 200, retry with the token it holds on anything else, give up only on 401 (the session
/// is gone). Every loop is bounded by `stop()` and by a hard deadline.
final class RefreshLoad: @unchecked Sendable {
    struct Tally {
        var answered = 0
        /// Non-200 answers other than 401, by status (-1: no HTTP answer at all).
        var failures: [Int: Int] = [:]
        var failuresWithoutJSON = 0
        /// Sessions that ended in a 401 while refreshing, or fail a last refresh after the load.
        var lostSessions = 0
        var failed: Int { failures.values.reduce(0, +) }
    }

    private let instance: TestInstance
    private let stopping = Atomic<Bool>(false)
    private let tally = Mutex(Tally())
    private let tokens: Mutex<[String?]>
    private let group = DispatchGroup()
    private let deadline: Date

    init(_ instance: TestInstance, sessions: [ClientSession], maximumDuration: TimeInterval = 60) {
        self.instance = instance
        tokens = Mutex(sessions.map(\.refresh))
        deadline = Date().addingTimeInterval(maximumDuration)
    }

    func start() {
        let count = tokens.withLock { $0.count }
        for index in 0..<count {
            group.enter()
            Thread { [self] in
                defer { group.leave() }
                while !stopping.load(ordering: .relaxed) && Date() < deadline {
                    guard let token = tokens.withLock({ $0[index] }) else { return }
                    let response = try? instance.refresh(cookie: token)
                    switch response?.status {
                    case 200:
                        tokens.withLock { $0[index] = response?.cookie("refresh_token") }
                        tally.withLock { $0.answered += 1 }
                    case 401:
                        tokens.withLock { $0[index] = nil }
                        tally.withLock { $0.lostSessions += 1 }
                        return
                    default:
                        tally.withLock {
                            $0.failures[response?.status ?? -1, default: 0] += 1
                            if response?.header("Content-Type") != "application/json" { $0.failuresWithoutJSON += 1 }
                        }
                    }
                }
            }.start()
        }
    }

    var answered: Int { tally.withLock { $0.answered } }
    /// Failed answers so far (see `Tally.failed`), while the load runs.
    var failed: Int { tally.withLock { $0.failed } }

    /// Stops the clients, then checks that every session still living can refresh once more.
    func stop() -> Tally {
        stopping.store(true, ordering: .relaxed)
        group.wait()
        for token in tokens.withLock({ $0 }).compactMap({ $0 }) {
            if (try? instance.refresh(cookie: token))?.status != 200 { tally.withLock { $0.lostSessions += 1 } }
        }
        return tally.withLock { $0 }
    }
}
