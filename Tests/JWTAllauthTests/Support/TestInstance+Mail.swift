import Foundation
@testable import AllauthDomain
@testable import AllauthHTTP

extension TestInstance {
    /// Queues a mail the way an account flow does (Outbox.enqueue inside a write transaction),
    /// for tests that exercise delivery before or without the endpoint that causes it.
    @discardableResult
    func enqueueMail(to recipient: String, subject: String = "Test mail", text: String = "Hello.\nhttps://example.com/confirm/abc\n",
                     html: String? = nil, kind: String = "test") throws -> Int64 {
        let db = try database()
        let mail = OutgoingMail(kind: kind, from: "Service <no-reply@example.com>", to: recipient, subject: subject, text: text, html: html)
        return try db.transaction { try Outbox(db).enqueue(mail, now: Int64(Date().timeIntervalSince1970)) }
    }

    /// The outbox row's state as the tests need it.
    func outboxRow(_ id: Int64) throws -> (attempts: Int, sentAt: Int64?, failedAt: Int64?, lastError: String?, textBody: String, messageID: String)? {
        try database().first("SELECT attempts, sent_at, failed_at, last_error, text_body, message_id FROM outbox WHERE id = ?", [.integer(id)]) {
            (Int($0.int(0)), $0.optionalInt(1), $0.optionalInt(2), $0.optionalString(3), $0.string(4), $0.string(5))
        }
    }
}
