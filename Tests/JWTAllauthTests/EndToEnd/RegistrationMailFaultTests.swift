import Foundation
import Testing
@testable import AllauthCore

/// Sign-up mail survives an SMTP outage: queued with the account, delivered once the server is back.
@Suite(.serialized)
struct RegistrationMailFaultTests {
    @Test func signUpsWhileTheSMTPServerIsDownLoseNoMailAndEachArrivesOnceWhenItIsBack() throws {
        let instance = try TestInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory",
                                                  "JWT_ALLAUTH_MAIL_RETRY_DELAY": "1s", "JWT_ALLAUTH_MAIL_RETRY_MAX_DELAY": "2s",
                                                  "JWT_ALLAUTH_THROTTLE_SCALE": "100"])
        let sink = try #require(instance.mailSink)
        // SIGKILL: the server vanishes (and SIGTERM may be blocked in a child the test runner spawned).
        sink.kill()
        let addresses = (0..<6).map { "outage\($0)@example.com" }
        for address in addresses { #expect(try instance.register(address).status == 201, "sign-up does not wait for mail") }
        #expect(try instance.eventually { try instance.database().first("SELECT COUNT(*) FROM outbox WHERE attempts > 0") { $0.int(0) } ?? 0 > 0 },
                "the mail process tried and failed while the server was down")
        #expect(sink.messages.isEmpty)

        try sink.start()
        let delivered = try sink.waitForMessages(addresses.count, timeout: 30)
        usleep(1_500_000)  // a duplicate would arrive within one more retry delay
        #expect(sink.messages.count == addresses.count, "each mail once")
        #expect(Set(delivered.compactMap(\.envelopeTo)) == Set(addresses))
        for address in addresses {
            #expect(try instance.followMailLink(to: address).status == 302, "\(address)'s link works")
            #expect(try instance.login(address).status == 200)
        }
    }
}
