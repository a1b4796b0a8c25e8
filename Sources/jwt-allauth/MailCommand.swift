import AllauthCore
import AllauthDomain
import ArgumentParser
import Foundation

/// `jwt-allauth mail`: the outbox as an operator needs it — what waits, what failed and why —
/// and `--retry ID` to queue a failed mail again. Never prints a body (they hold one-time links), but
/// for `--last-link` on the local instance, whose mail is files on this machine anyway.
struct MailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail", abstract: "List the mail queue and failures; re-queue a failed mail; print a local instance's last link.")
    @OptionGroup var options: ConfigOption
    @Option(help: "Re-queue the failed mail with this id (attempts start again from zero).") var retry: Int64?
    @Option(name: .customLong("last-link"), help: ArgumentHelp(
        "Print the link of the newest mail to this address (mail.transport: directory, the local instance).", valueName: "email"))
    var lastLink: String?

    func run() throws {
        let config = try options.load()
        if let lastLink {
            guard config.mail.transport == .directory else {
                throw CommandFailure("--last-link reads the .eml files of mail.transport: directory; this configuration sends mail by SMTP")
            }
            let directory = MailDirectory(path: config.mail.directory)
            guard FileManager.default.fileExists(atPath: config.mail.directory), let link = try directory.lastLink(to: lastLink) else {
                throw CommandFailure("no mail with a link to \(lastLink) in \(config.mail.directory)")
            }
            print(link)
            return
        }
        let outbox = Outbox(try openMigrated(config))
        let now = Int64(Date().timeIntervalSince1970)
        if let retry {
            switch try outbox.retry(id: retry, now: now) {
            case .requeued: print("mail \(retry) re-queued")
            case .notFailed: throw CommandFailure("mail \(retry) has not failed (it is pending or sent)")
            case .notFound: throw CommandFailure("no mail with id \(retry)")
            }
            return
        }
        let queue = try outbox.queue()
        print("pending: \(queue.pending.count), failed: \(queue.failed.count), sent: \(queue.sent)")
        for mail in queue.pending {
            let state = (mail.leasedUntil ?? 0) > now ? "sending" : "next try \(HTTPDate.iso8601(mail.nextAttemptAt))"
            print("pending \(mail.id)  \(mail.kind) to \(mail.recipient)  queued \(HTTPDate.iso8601(mail.created))  "
                  + "attempts \(mail.attempts)  \(state)" + (mail.lastError.map { "  last error: \($0)" } ?? ""))
        }
        for mail in queue.failed {
            print("failed \(mail.id)  \(mail.kind) to \(mail.recipient)  queued \(HTTPDate.iso8601(mail.created))  "
                  + "gave up \(HTTPDate.iso8601(mail.failedAt ?? 0)) after \(mail.attempts) attempt(s)  "
                  + "last error: \(mail.lastError ?? "-")")
        }
    }
}
