import Foundation
import Testing
@testable import AllauthCore

/// Security events as the service writes them, read by Debian's fail2ban with the shipped filter.
struct SecurityEventTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func failedLoginsThrottleHitsAndReplaysAreLoggedAndFail2banMatchesThem() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_THROTTLE_LOGIN_IP": "3/m", "JWT_ALLAUTH_THROTTLE_LOGIN_ACCOUNT": "off"])
        try instance.createUser("events@example.com")
        let session = try instance.session("events@example.com")
        let second = try #require(ClientSession(try instance.refresh(cookie: session.refresh)))
        _ = try #require(ClientSession(try instance.refresh(cookie: second.refresh)))
        // An older ancestor than the immediate predecessor: a replay, the session is revoked.
        #expect(try instance.refresh(cookie: session.refresh).status == 401)
        for _ in 0..<3 { #expect(try instance.login("events@example.com", password: "Wrong-Secret-1").status == 401) }
        #expect(try instance.login("events@example.com", password: "Wrong-Secret-1").status == 429)
        #expect(try instance.login("nobody@example.com", password: "Wrong-Secret-1").status == 429)

        let logPath = instance.directory.appendingPathComponent("log/security.log").path
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let events = lines.compactMap { $0.split(separator: " ").first { $0.hasPrefix("event=") }.map { String($0.dropFirst(6)) } }
        #expect(events == ["replay_detected", "login_failed", "login_failed", "login_failed", "throttled", "throttled"], "\(lines)")
        #expect(lines.allSatisfy { $0.contains(" client=127.0.0.1") })
        #expect(lines[0].contains(" session=") && lines[0].contains(" user="))
        for secret in ["Wrong-Secret-1", "Val1dPasw0rd!", session.refresh, second.refresh, "events@example.com", "nobody@"] {
            #expect(!lines.contains { $0.contains(secret) }, "a line carries \(secret)")
        }

        // fail2ban-regex with the filter shipped in config/: every one of these lines bans 127.0.0.1.
        let filter = Self.repository.appendingPathComponent("config/fail2ban/filter.d/jwt-allauth.conf").path
        let output = try Self.run("/usr/bin/fail2ban-regex", ["-v", logPath, filter])
        #expect(output.contains("Failregex: \(lines.count) total"), "\(output)")
        let bannedAddresses = output.split(separator: "\n").filter { $0.hasPrefix("|      ") }
            .map { $0.dropFirst(7).split(separator: " ").first.map(String.init) ?? "" }
        #expect(bannedAddresses == Array(repeating: "127.0.0.1", count: lines.count), "\(output)")
        #expect(output.contains("Lines: \(lines.count) lines, 0 ignored, \(lines.count) matched, 0 missed"), "\(output)")
    }

    @Test func passwordChangeResetAndDeactivationAreAuditedWithoutSecrets() throws {
        let instance = try InProcessInstance.withMail()
        let user = try instance.createUser("audit@example.com")
        let session = try instance.session("audit@example.com")
        let changed = try instance.client.post("\(instance.mount)/password/change/",
            json: #"{"old_password":"Val1dPasw0rd!","new_password1":"N3w-Passw0rd-42","new_password2":"N3w-Passw0rd-42"}"#,
            headers: [session.bearer])
        #expect(changed.status == 200, "\(changed.text)")
        #expect(try instance.client.post("\(instance.mount)/password/reset/", json: #"{"email":"audit@example.com"}"#).status == 200)
        let opened = try instance.followMailLink(to: "audit@example.com")
        let cookies = try instance.capabilityCookies(opened, name: PasswordResetTests.cookie)
        let reset = try instance.setPassword("password/reset/set-new/", cookies, cookieName: PasswordResetTests.cookie, password: "Th1rd-Passw0rd-42")
        #expect(reset.status == 200, "\(reset.text)")
        #expect(try instance.command(["deactivate", "--email", "audit@example.com"]).status == 0)

        let logPath = instance.directory.appendingPathComponent("log/security.log").path
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.map { $0.split(separator: " ").dropFirst().joined(separator: " ") } == [
            "jwt-allauth event=password_changed client=127.0.0.1 user=\(user.id)",
            "jwt-allauth event=password_reset client=127.0.0.1 user=\(user.id)",
            "jwt-allauth event=account_deactivated user=\(user.id)",
        ], "\(lines)")
        let link = try #require(try instance.awaitMail(to: "audit@example.com").link(port: instance.port))
        for secret in ["Val1dPasw0rd!", "N3w-Passw0rd-42", "Th1rd-Passw0rd-42", "audit@example.com", cookies.capability, cookies.csrf,
                       session.refresh, String(instance.path(of: link).split(separator: "/").last ?? "-")] {
            #expect(!lines.contains { $0.contains(secret) }, "a line carries \(secret)")
        }
        // Audit only: fail2ban's filter bans nobody for these.
        let filter = Self.repository.appendingPathComponent("config/fail2ban/filter.d/jwt-allauth.conf").path
        #expect(try Self.run("/usr/bin/fail2ban-regex", [logPath, filter]).contains("Lines: 3 lines, 0 ignored, 0 matched, 3 missed"))
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        try ProcessRunner.run(executable, arguments).output
    }
}
