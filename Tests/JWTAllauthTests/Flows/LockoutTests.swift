import Foundation
import Testing
@testable import AllauthDomain
@testable import AllauthRuntime

/// The failed-password limits as an attacker and the account's owner meet them, in process:
/// guesses stay bounded, the owner is not locked out by them, a password change is no oracle, and
/// the time of a failure tells nothing about the account. Other client addresses are what nginx
/// would pass as `REMOTE_ADDR` (`LockoutRaceTests` sends parallel guesses from another loopback
/// address through nginx).
struct LockoutTests {
    static let owner = "127.0.0.1"

    // MARK: login

    @Test func failedLoginsFromOneAddressDoNotLockTheOwnerOutFromAnother() throws {
        let instance = try InProcessInstance()  // the shipped limits: login_account 5/300s, login_ip 10/m
        try instance.createUser("victim@example.com")
        // The attacker's address gets five guesses at the account, then 429, the right password included.
        for _ in 0..<5 { #expect(try instance.login("victim@example.com", password: "Guess-123", from: "127.0.0.2").status == 401) }
        let limited = try instance.login("victim@example.com", password: "Guess-123", from: "127.0.0.2")
        #expect(limited.status == 429 && limited.header("Retry-After") != nil, "\(limited.status)")
        #expect(try instance.login("victim@example.com", from: "127.0.0.2").status == 429, "no guess past the limit from there")
        // The owner, elsewhere, logs in as usual.
        let owner = try instance.login("victim@example.com", from: Self.owner)
        #expect(owner.status == 200, "the owner is locked out: \(owner.status) \(owner.text)")

        // One address spraying many accounts meets the per-address limit (login_ip 10/m) across them.
        let sprayed = try (0..<11).map { try instance.login("user\($0)@example.com", password: "Guess-123", from: "127.0.0.4").status }
        #expect(sprayed == Array(repeating: 401, count: 10) + [429], "\(sprayed)")
        #expect(try instance.login("victim@example.com", from: Self.owner).status == 200, "still the owner's")
    }

    // MARK: password reset

    @Test func resetRequestsFromElsewhereLeaveTheOwnerAWorkingLink() throws {
        let instance = try InProcessInstance.withMail()  // password_reset_address 5/m, password_reset_ip 20/m
        try instance.createUser("victim@example.com")
        let body = #"{"email":"victim@example.com"}"#
        let flood = try (0..<6).map { _ in try instance.post("\(instance.mount)/password/reset/", json: body, from: "127.0.0.2") }
        #expect(flood.map(\.status) == [200, 200, 200, 200, 200, 429], "\(flood.map(\.status))")
        // More requests from more addresses: same answer, but the address's mail budget is spent.
        let more = try instance.post("\(instance.mount)/password/reset/", json: body, from: "127.0.0.3")
        let owners = try instance.post("\(instance.mount)/password/reset/", json: body, from: Self.owner)
        #expect(owners.status == 200, "the owner's request is refused: \(owners.status) \(owners.text)")
        #expect(owners.body == flood[0].body && more.body == flood[0].body && owners.stableHeaders == flood[0].stableHeaders)
        #expect(try instance.queuedMails(to: "victim@example.com") == 5, "the mailbox gets the budget, no more")

        // The last link mailed still works.
        let opened = try instance.followMailLink(to: "victim@example.com", count: 5)
        let cookies = try instance.capabilityCookies(opened, name: PasswordResetTests.cookie)
        let reset = try instance.setPassword("password/reset/set-new/", cookies, cookieName: PasswordResetTests.cookie, password: "N3w-Passw0rd-42")
        #expect(reset.status == 200, "\(reset.status) \(reset.text)")
        #expect(try instance.login("victim@example.com", password: "N3w-Passw0rd-42").status == 200)
    }

    // MARK: password change

    @Test func wrongOldPasswordsOnPasswordChangeCountAsFailedLoginsAndAreBannedOn() throws {
        let instance = try InProcessInstance()
        let user = try instance.createUser("stolen@example.com")
        var session = try instance.session("stolen@example.com")
        func change(old: String, to new: String = "N3w-Passw0rd-42") throws -> HTTPResponse {
            try instance.client.post("\(instance.mount)/password/change/",
                json: #"{"old_password":"\#(old)","new_password1":"\#(new)","new_password2":"\#(new)"}"#, headers: [session.bearer])
        }
        // Whoever holds the access token guesses the password: four wrong, then the owner's right
        // one, which gives its unit back, then one more wrong: five failures in all.
        for _ in 0..<4 { #expect(try change(old: "Guess-123").json?["old_password"] != nil) }
        let changed = try change(old: "Val1dPasw0rd!")
        #expect(changed.status == 200, "\(changed.status) \(changed.text)")
        session = try #require(ClientSession(changed))
        #expect(try change(old: "Guess-123").status == 400)
        let limited = try change(old: "Guess-123")
        #expect(limited.status == 429 && limited.header("Retry-After") != nil, "\(limited.status) \(limited.text)")
        #expect(try change(old: "N3w-Passw0rd-42", to: "Th1rd-Passw0rd-42").status == 429, "refused before any check, like login")
        // The same budget as login/ from this address; the owner elsewhere is not locked out.
        #expect(try instance.login("stolen@example.com", password: "N3w-Passw0rd-42").status == 429)
        #expect(try instance.login("stolen@example.com", password: "N3w-Passw0rd-42", from: "127.0.0.2").status == 200)

        let logPath = instance.directory.appendingPathComponent("log/security.log").path
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let failures = lines.filter { $0.contains("event=login_failed") }
        #expect(failures.count == 5, "\(lines)")
        #expect(failures.allSatisfy { $0.hasSuffix("jwt-allauth event=login_failed client=127.0.0.1 route=password/change/ user=\(user.id)") },
                "\(failures)")
        #expect(!lines.contains { $0.contains("Guess-123") || $0.contains("stolen@") })
        // fail2ban, with the shipped filter, bans the guessing address on every one of them.
        let failuresPath = instance.directory.appendingPathComponent("log/failures.log").path
        try (failures.joined(separator: "\n") + "\n").write(toFile: failuresPath, atomically: true, encoding: .utf8)
        let filter = SecurityEventTests.repository.appendingPathComponent("config/fail2ban/filter.d/jwt-allauth.conf").path
        let output = try SecurityEventTests.run("/usr/bin/fail2ban-regex", ["-v", failuresPath, filter])
        let banned = output.split(separator: "\n").filter { $0.hasPrefix("|      ") }.map { $0.dropFirst(7).split(separator: " ").first.map(String.init) ?? "" }
        #expect(banned == Array(repeating: "127.0.0.1", count: 5), "\(output)")
        #expect(output.contains("Lines: 5 lines, 0 ignored, 5 matched, 0 missed"), "\(output)")
    }

    // MARK: mfa/deactivate

    @Test func wrongPasswordsOnMFADeactivateCountAsFailedLoginsAndTheRightOneRemovesTheFactor() throws {
        let instance = try InProcessInstance.mfa("optional")
        try instance.createUser("enrolled@example.com")
        let session = try instance.session("enrolled@example.com")
        _ = try instance.enrol(bearer: session)
        func deactivate(_ password: String) throws -> HTTPResponse {
            try instance.mfaPost("deactivate/", #"{"password":"\#(password)"}"#, headers: [session.bearer])
        }
        // Whoever holds the access token guesses: the shipped login_account budget is 5 per 300 s.
        for _ in 0..<5 {
            let wrong = try deactivate("Guess-123")
            #expect(wrong.status == 400 && wrong.json?["detail"]?.string == "Invalid password.", "\(wrong.status) \(wrong.text)")
        }
        let limited = try deactivate("Guess-123")
        #expect(limited.status == 429 && limited.header("Retry-After") != nil, "\(limited.status) \(limited.text)")
        #expect(try deactivate(TestInstance.strongPassword).status == 429, "refused before any check, like login")
        #expect(try instance.client.get("\(instance.mount)/mfa/authenticators/", headers: [session.bearer]).text != "[]",
                "nothing was removed")
        // From another network the owner's own password removes the factor; then there is none.
        let removed = try instance.client.from("127.0.0.2").post("\(instance.mount)/mfa/deactivate/",
                                                                json: #"{"password":"\#(TestInstance.strongPassword)"}"#, headers: [session.bearer])
        #expect(removed.status == 200 && removed.json?["success"]?.bool == true, "\(removed.status) \(removed.text)")
        #expect(try instance.client.get("\(instance.mount)/mfa/authenticators/", headers: [session.bearer]).text == "[]")
        let again = try instance.client.from("127.0.0.2").post("\(instance.mount)/mfa/deactivate/",
                                                              json: #"{"password":"\#(TestInstance.strongPassword)"}"#, headers: [session.bearer])
        #expect(again.status == 400 && again.json?["detail"]?.string == "TOTP not activated.", "\(again.text)")
    }

    // MARK: timing

    @Test func aFailureOnADearerStoredHashTakesAsLongAsAnyOtherAndItsHashComesDownAtLogin() throws {
        let configured = 20_000, dearer = 600_000
        let instance = try InProcessInstance(environment: [
            "JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS": String(configured), "JWT_ALLAUTH_THROTTLE_ENABLED": "false",
        ])
        // Imported from a Django whose hashes cost thirty times what this service is configured for.
        let users = UserStore(try instance.database())
        let imported = try users.create(email: "dear@example.com", passwordHash: PasswordHasher(iterations: dearer).hash("Old-Passw0rd"),
                                        emailVerified: true)
        _ = try users.create(email: "current@example.com", passwordHash: PasswordHasher(iterations: configured).hash("Val1dPasw0rd!"),
                         emailVerified: true)
        func seconds(_ email: String) throws -> Double {
            let start = Date()
            let response = try instance.login(email, password: "not-the-password")
            #expect(response.status == 401)
            return Date().timeIntervalSince(start)
        }
        var dear: [Double] = [], unknown: [Double] = [], current: [Double] = []
        for _ in 0..<9 {
            dear.append(try seconds("dear@example.com"))
            unknown.append(try seconds("nobody@example.com"))
            current.append(try seconds("current@example.com"))
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        let medians = [median(dear), median(unknown), median(current)]
        // Without the padding the gap was 25 times (0.33 s against 0.013 s); with it, on a machine
        // busy with other builds, medians stayed within 1.3 times of each other.
        #expect(medians.max()! < medians.min()! * 1.6, "dear, unknown, current: \(medians) s: the dearer account stands out")

        #expect(try instance.login("dear@example.com", password: "Old-Passw0rd").status == 200)
        let stored = try #require(try users.find(id: imported.id)).password
        #expect(stored.split(separator: "$").dropFirst().first == "\(configured)", "rehashed down to the configured cost: \(stored.prefix(24))")
        #expect(try instance.login("dear@example.com", password: "Old-Passw0rd").status == 200)
    }
}
