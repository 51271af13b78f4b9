export { createLogger, LOG_LEVELS, type LogLevel, type LogOutput, type Logger, type LoggerOptions } from './logger.js';
export { REDACT_PATHS, isSecretFieldName, redactSecrets } from './redact.js';
export { JournalOutput, encodeJournalEntry, journalFieldsFor, journalOutputFromEnvironment, syslogPriority, type JournalField } from './journal.js';
