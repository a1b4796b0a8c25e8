import Foundation
import Logging
import Synchronization
@testable import AllauthStore
@testable import AllauthDomain

/// The mail process of an in-process instance, run when a test reads its mail: the outbox rows
/// the service queued are claimed, rendered and delivered by the mail process's own `Mailer` into
/// `.eml` files (`DirectoryTransport`, the `mail.transport: directory` of `make run`), which the
/// tests then read as a user's mail program would. Only the envelope recipient and the order of
/// delivery are noted beside the files, as an SMTP server would know them.
final class InProcessMailbox {
    private let delivered: DeliveredMail
    private let mailer: Mailer

    init(config: Config, db: any SQLConnection, logger: Logger) throws {
        delivered = try DeliveredMail(directory: config.mail.directory)
        mailer = Mailer(settings: config.mail, db: db, transport: delivered, stop: StopFlag(), logger: logger)
    }

    /// Delivers every mail that is due, as the mail process does between two polls.
    func deliverQueued() throws {
        while try mailer.deliverNext() {}
    }

    /// The mails delivered to `address` so far, in order, read back from their files.
    func messages(to address: String) throws -> [ReceivedMail] {
        let ids = delivered.log.withLock { $0.filter { $0.recipient == address }.map(\.messageID) }
        let all = try FileManager.default.contentsOfDirectory(at: delivered.directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "eml" }
            .map { ReceivedMail(try String(contentsOf: $0, encoding: .utf8)) }
        return ids.compactMap { id in all.first { $0.messageID == id } }
    }

    /// How many mails were delivered so far.
    var count: Int { delivered.log.withLock { $0.count } }
}

/// `DirectoryTransport`, noting who each file was for and in which order.
private final class DeliveredMail: MailTransport {
    let directory: URL
    private let files: DirectoryTransport
    /// (envelope recipient, Message-ID) of each delivery, in order.
    let log = Mutex<[(recipient: String, messageID: String)]>([])

    init(directory: String) throws {
        self.directory = URL(fileURLWithPath: directory)
        files = try DirectoryTransport(directory: directory)
    }

    func deliver(_ mail: EncodedMail) throws(MailDeliveryError) {
        try files.deliver(mail)
        log.withLock { $0.append((mail.recipient.address, mail.messageID)) }
    }
}
