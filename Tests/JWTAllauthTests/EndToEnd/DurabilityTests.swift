import Foundation
import Testing
@testable import AllauthCore

/// What each operation's COMMIT survives, through real nginx and workers and the real commands:
/// whatever takes access away commits with `synchronous = FULL` (survives a power cut), rotations
/// and logins with NORMAL. The `PRAGMA synchronous` in force is read from SQLite just before each
/// COMMIT by the test-only transaction probe (`JWT_ALLAUTH_TEST_COMMIT_LOG`), one line per commit
/// with the transaction's statements.
@Suite(.serialized, .enabled(if: TestEngine.isSQLite, "reads SQLite's PRAGMA synchronous before each COMMIT"))
struct DurabilityTests {
    /// An instance whose every commit is logged, and the log.
    private func instance(mail: Bool = false) throws -> (TestInstance, CommitLog) {
        let log = CommitLog()
        // No rotation grace: a rotated-away token presented again is a replay at once.
        let environment = ["JWT_ALLAUTH_TEST_COMMIT_LOG": log.path, "JWT_ALLAUTH_TOKENS_ROTATION_GRACE": "0"]
        return (try TestInstance(environment: environment, smtp: mail), log)
    }

    @Test func revocationsCommitWithSynchronousFullAndLoginsAndRotationsWithNormal() throws {
        let (instance, log) = try instance()
        try instance.createUser("durable@example.com")

        let login = try log.commits { _ = try instance.session("durable@example.com") }
        #expect(login.levels(of: "INSERT INTO refresh_tokens") == ["NORMAL"], "\(login)")
        let laptop = try instance.session("durable@example.com")

        var rotated: ClientSession?
        let rotation = try log.commits { rotated = ClientSession(try instance.refresh(cookie: laptop.refresh)) }
        #expect(rotation.levels(of: "UPDATE refresh_tokens SET jti") == ["NORMAL"], "\(rotation)")
        let current = try #require(rotated)

        // The rotated-away token presented again is a replay: the session is revoked.
        let replay = try log.commits {
            let answer = try instance.refresh(cookie: laptop.refresh)
            #expect(answer.status == 401)
        }
        #expect(replay.levels(of: "DELETE FROM refresh_tokens WHERE session = ?") == ["FULL"], "\(replay)")
        #expect(try instance.refresh(cookie: current.refresh).status == 401, "the replay took the session")

        let phone = try instance.session("durable@example.com")
        let logout = try log.commits {
            let answer = try instance.client.post("/jwt-allauth/logout/", headers: [phone.bearer, phone.cookie])
            #expect(answer.status == 200)
        }
        #expect(logout.levels(of: "DELETE FROM refresh_tokens WHERE session = ? AND user_id = ?") == ["FULL"], "\(logout)")

        let tablet = try instance.session("durable@example.com")
        let sessionID = try #require(try instance.tokenService().verify(tablet.refresh, expecting: .refresh, now: Int64(Date().timeIntervalSince1970)).get().session)
        let deletion = try log.commits {
            let answer = try instance.client.request("DELETE", "/jwt-allauth/sessions/\(sessionID)/", headers: [tablet.bearer])
            #expect(answer.status == 200)
        }
        #expect(deletion.levels(of: "DELETE FROM refresh_tokens WHERE session = ? AND user_id = ?") == ["FULL"], "\(deletion)")

        let desktop = try instance.session("durable@example.com")
        let everywhere = try log.commits {
            let answer = try instance.client.post("/jwt-allauth/logout-all/", headers: [desktop.bearer])
            #expect(answer.status == 200)
        }
        #expect(everywhere.levels(of: "DELETE FROM refresh_tokens WHERE user_id = ?") == ["FULL"], "\(everywhere)")
    }

    @Test func passwordChangeAndResetCommitWithSynchronousFull() throws {
        let (instance, log) = try instance(mail: true)
        try instance.createUser("changer@example.com")
        let session = try instance.session("changer@example.com")
        let change = try log.commits {
            let body = #"{"old_password":"\#(TestInstance.strongPassword)","new_password1":"Ch4nged-Passw0rd","new_password2":"Ch4nged-Passw0rd"}"#
            let answer = try instance.client.post("/jwt-allauth/password/change/", json: body, headers: [session.bearer])
            #expect(answer.status == 200)
        }
        #expect(change.levels(of: "UPDATE users SET password") == ["FULL"], "\(change)")

        try instance.createUser("forgetful@example.com")
        _ = try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"forgetful@example.com"}"#)
        let link = try #require(try instance.awaitMail(to: "forgetful@example.com").link(port: instance.port))
        let opened = try instance.client.get(instance.path(of: link))
        let cookies = try instance.capabilityCookies(opened, name: "password_reset_access_token")
        let reset = try log.commits {
            let set = try instance.setPassword("password/reset/set-new/", cookies, cookieName: "password_reset_access_token", password: "N3w-Passw0rd-42")
            #expect(set.status == 200)
        }
        #expect(reset.levels(of: "UPDATE users SET password") == ["FULL"], "\(reset)")
    }

    @Test func operatorDeactivationMFARemovalAndSessionRevocationCommitWithSynchronousFull() throws {
        let (instance, log) = try instance()
        try instance.createUser("leaver@example.com")
        _ = try instance.session("leaver@example.com")
        let environment = ["JWT_ALLAUTH_TEST_COMMIT_LOG": log.path]

        let revokeAll = try log.commits {
            let answer = try instance.command(["sessions", "--user", "leaver@example.com", "--revoke-all"], extraEnvironment: environment)
            #expect(answer.status == 0)
        }
        #expect(revokeAll.levels(of: "DELETE FROM refresh_tokens WHERE user_id = ?") == ["FULL"], "\(revokeAll)")

        let removal = try log.commits {
            let answer = try instance.command(["mfa-remove", "--email", "leaver@example.com"], extraEnvironment: environment)
            #expect(answer.status == 0)
        }
        #expect(removal.levels(of: "DELETE FROM mfa_authenticators") == ["FULL"], "\(removal)")

        let deactivation = try log.commits {
            let answer = try instance.command(["deactivate", "--email", "leaver@example.com"], extraEnvironment: environment)
            #expect(answer.status == 0)
        }
        #expect(deactivation.levels(of: "UPDATE users SET is_active") == ["FULL"], "\(deactivation)")
    }
}

/// The file the transaction probe appends one line per COMMIT to: `synchronous=LEVEL<TAB>statements`.
final class CommitLog {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("commits-\(UUID().uuidString.prefix(8)).log").path

    struct Commit: CustomStringConvertible {
        var level: String
        var statements: String
        var description: String { "\(level): \(statements)" }
    }

    private var lines: [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    /// The commits made while `body` ran (the probe writes each line before its COMMIT, so before
    /// the answer that follows it).
    func commits(_ body: () throws -> Void) throws -> [Commit] {
        let before = lines.count
        try body()
        return lines.dropFirst(before).map { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            return Commit(level: String(parts[0].dropFirst("synchronous=".count)), statements: parts.count > 1 ? String(parts[1]) : "")
        }
    }

    deinit { unlink(path) }
}

extension [CommitLog.Commit] {
    /// The synchronous level of each commit that ran a statement containing `fragment`.
    func levels(of fragment: String) -> [String] {
        filter { $0.statements.contains(fragment) }.map(\.level)
    }
}
