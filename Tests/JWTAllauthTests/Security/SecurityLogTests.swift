import Foundation
import Testing
@testable import AllauthRuntime

/// The security event lines fail2ban reads.
struct SecurityLogTests {
    let when = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func oneLineWithTimeEventAndClient() {
        let line = SecurityLog.line(.loginFailed, client: "203.0.113.7", at: when)
        #expect(line == "2026-11-18T11:06:40Z jwt-allauth event=login_failed client=203.0.113.7\n")
    }

    @Test func replayNamesTheSessionAndUser() {
        let line = SecurityLog.line(.replayDetected(session: "3f2a-9b", userID: "42"), client: "2001:db8::1", at: when)
        #expect(line.hasSuffix(" event=replay_detected client=2001:db8::1 session=3f2a-9b user=42\n"))
    }

    @Test func aValueCannotForgeAFieldOrALine() {
        let line = SecurityLog.line(.throttled(route: "login/ client=198.51.100.1\nX"), client: "", at: when)
        #expect(line.hasSuffix(" event=throttled client=- route=login/_client_198.51.100.1_X\n"))
        #expect(line.filter { $0 == "\n" }.count == 1)
    }

    @Test func anEventFromTheCommandLineHasNoClient() {
        #expect(SecurityLog.line(.accountDeactivated(userID: 7), client: nil, at: when).hasSuffix(" event=account_deactivated user=7\n"))
    }
}
