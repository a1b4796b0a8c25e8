import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthRuntime

/// Requests are served in the order they arrive, whichever upstream connection nginx sent them on:
/// a worker thread is busy while it answers a request, never while nginx keeps a connection idle.
struct RequestQueueingTests {
    /// One worker with two threads behind `dev`'s nginx (upstream keepalive 8, keepalive_timeout
    /// 3 s). Four logins at once make nginx open four upstream connections; two wait for a thread.
    /// With a thread per connection (the libfcgi accept loop), the two threads stayed with the two
    /// connections nginx then kept idle, and the waiting logins were answered only when nginx
    /// closed those, after its 3 s keepalive_timeout.
    @Test func aRequestOnANewConnectionIsNotHeldBehindConnectionsNginxKeepsIdle() throws {
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_SERVER_WORKERS": "1", "JWT_ALLAUTH_SERVER_THREADS": "2"])
        // A hash that takes a while to check (a few ms), so the four logins overlap in nginx.
        try UserStore(instance.database()).create(
            email: "queue@example.com", passwordHash: PasswordHasher(iterations: 30_000).hash("Val1dPasw0rd!"),
            firstName: "", lastName: "", role: 0, isActive: true, emailVerified: true)
        for round in 0..<3 {
            let client = instance.client
            let answers = simultaneously(4) { _ -> (status: Int, seconds: TimeInterval) in
                let started = Date()
                let status = (try? client.post("/jwt-allauth/login/", json: #"{"email":"queue@example.com","password":"Val1dPasw0rd!"}"#))?.status ?? -1
                return (status, Date().timeIntervalSince(started))
            }
            #expect(answers.allSatisfy { $0.status == 200 }, "round \(round): \(answers)")
            let slowest = answers.map(\.seconds).max() ?? 0
            // Well under nginx's 3 s keepalive_timeout, which is what a held login waited for; the
            // margin is for a machine busy with other work.
            #expect(slowest < 2.5, "round \(round): a login waited \(slowest) s for a thread")
        }
    }
}
