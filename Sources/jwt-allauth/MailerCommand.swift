import AllauthDomain
import AllauthRuntime
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The mail process: one per pool, started and respawned by `serve`'s master. It drains the
/// outbox through the configured transport, so a slow SMTP server never holds a request thread.
struct MailerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailer",
        abstract: "Deliver the outbox (started by `serve`; several may share a database).",
        discussion: "SIGTERM/SIGINT stop it within about a second: a send in progress is abandoned and retried later.",
        shouldDisplay: false
    )
    @OptionGroup var options: ConfigOption

    func run() throws {
        // Blocked before any thread exists, so only the signal thread below receives them.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let config = try options.load()
        let logger = makeLogger("jwt-allauth.mailer", level: config.logLevel)
        let db = try openMigrated(config)
        let stop = StopFlag()
        let transport = try MailTransports.make(config.mail, stop: stop)
        let watched = signals
        Thread.detachNewThread {
            var set = watched
            while true {
                var signal: Int32 = 0
                // SIGHUP means nothing here: the master restarts this process on reload.
                if sigwait(&set, &signal) == 0 && (signal == SIGTERM || signal == SIGINT) {
                    stop.set()
                    return
                }
            }
        }
        let parent = getppid()
        logger.info("mailer ready", metadata: ["transport": "\(config.mail.transport.rawValue)", "pid": "\(getpid())"])
        // Failed deliveries join the pool's metrics through this process's own counter file.
        let metrics = MetricsDirectory(socket: config.server.socket).recorder(name: "mailer", routes: []) { error in
            logger.error("metrics: cannot count mail failures", metadata: ["error": "\(error)"])
        }
        Mailer(settings: config.mail, db: db, transport: transport, stop: stop, logger: logger, metrics: metrics).run {
            // Started by a master that is gone: don't linger as an orphan.
            guard getppid() == parent else {
                logger.warning("master went away, stopping")
                return false
            }
            return true
        }
        logger.info("mailer stopped")
    }
}
