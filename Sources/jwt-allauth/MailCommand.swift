import AllauthCore
import AllauthDomain
import ArgumentParser
import Foundation

/// `jwt-allauth mail`: the outbox as an operator needs it — what waits, what failed and why —
/// and `--retry ID` to queue a failed mail again. Never prints a body (they hold one-time links).
struct MailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail", abstract: "List the mail queue and failures; re-queue a failed mail.")
    @OptionGroup var options: ConfigOption
    @Option(help: "Re-queue the failed mail with this id (attempts start again from zero).") var retry: Int64?

    func run() throws {
        let config = try options.load()
        let outbox = Outbox(try openMigrated(config))
        let now = Int64(Date().timeIntervalSince1970)
        if let retry {
            switch try outbox.retry(id: retry, now: now) {
            case .requeued: print("mail \(retry) re-queued")
            case .notFailed: throw ValidationError("mail \(retry) has not failed (it is pending or sent)")
            case .notFound: throw ValidationError("no mail with id \(retry)")
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
