// Package opencodetest writes OpenCode data for tests and benchmarks: SQLite
// databases with the schema of a real opencode.db, the legacy storage/ tree
// of JSON files, and generated corpora whose expected counts are computed
// from what was generated, independently of the provider's parser.
package opencodetest

// Schema is the DDL of a real opencode.db as OpenCode's migrations left it at
// migration 20260323234822_events (v1.2.x–v1.3): the tables project,
// message, part, permission, session, todo, session_share, control_account,
// workspace, account, account_state, event_sequence and event with their
// indexes, columns in the order the migrations created them (ALTER TABLE
// appends workspace_id and commands). It was checked against OpenCode's
// drizzle definitions (packages/opencode/src/session/session.sql.ts:
// SessionTable, MessageTable, PartTable, TodoTable; storage/schema.sql.ts:
// Timestamps) and a `.schema` dump of a real database published with a
// third-party migration test.
const Schema = "CREATE TABLE `project` (\n" +
	"\t`id` text PRIMARY KEY,\n\t`worktree` text NOT NULL,\n\t`vcs` text,\n\t`name` text,\n\t`icon_url` text,\n\t`icon_color` text,\n" +
	"\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n\t`time_initialized` integer,\n\t`sandboxes` text NOT NULL\n, `commands` text);\n" +
	"CREATE TABLE `message` (\n" +
	"\t`id` text PRIMARY KEY,\n\t`session_id` text NOT NULL,\n\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n\t`data` text NOT NULL,\n" +
	"\tCONSTRAINT `fk_message_session_id_session_id_fk` FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON DELETE CASCADE\n);\n" +
	"CREATE TABLE `part` (\n" +
	"\t`id` text PRIMARY KEY,\n\t`message_id` text NOT NULL,\n\t`session_id` text NOT NULL,\n\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n\t`data` text NOT NULL,\n" +
	"\tCONSTRAINT `fk_part_message_id_message_id_fk` FOREIGN KEY (`message_id`) REFERENCES `message`(`id`) ON DELETE CASCADE\n);\n" +
	"CREATE TABLE `permission` (\n" +
	"\t`project_id` text PRIMARY KEY,\n\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n\t`data` text NOT NULL,\n" +
	"\tCONSTRAINT `fk_permission_project_id_project_id_fk` FOREIGN KEY (`project_id`) REFERENCES `project`(`id`) ON DELETE CASCADE\n);\n" +
	"CREATE TABLE `session` (\n" +
	"\t`id` text PRIMARY KEY,\n\t`project_id` text NOT NULL,\n\t`parent_id` text,\n\t`slug` text NOT NULL,\n\t`directory` text NOT NULL,\n\t`title` text NOT NULL,\n" +
	"\t`version` text NOT NULL,\n\t`share_url` text,\n\t`summary_additions` integer,\n\t`summary_deletions` integer,\n\t`summary_files` integer,\n" +
	"\t`summary_diffs` text,\n\t`revert` text,\n\t`permission` text,\n\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n" +
	"\t`time_compacting` integer,\n\t`time_archived` integer, `workspace_id` text,\n" +
	"\tCONSTRAINT `fk_session_project_id_project_id_fk` FOREIGN KEY (`project_id`) REFERENCES `project`(`id`) ON DELETE CASCADE\n);\n" +
	"CREATE TABLE `todo` (\n" +
	"\t`session_id` text NOT NULL,\n\t`content` text NOT NULL,\n\t`status` text NOT NULL,\n\t`priority` text NOT NULL,\n\t`position` integer NOT NULL,\n" +
	"\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n\tCONSTRAINT `todo_pk` PRIMARY KEY(`session_id`, `position`),\n" +
	"\tCONSTRAINT `fk_todo_session_id_session_id_fk` FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON DELETE CASCADE\n);\n" +
	"CREATE TABLE `session_share` (\n" +
	"\t`session_id` text PRIMARY KEY,\n\t`id` text NOT NULL,\n\t`secret` text NOT NULL,\n\t`url` text NOT NULL,\n\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n" +
	"\tCONSTRAINT `fk_session_share_session_id_session_id_fk` FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON DELETE CASCADE\n);\n" +
	"CREATE INDEX `part_session_idx` ON `part` (`session_id`);\n" +
	"CREATE INDEX `session_project_idx` ON `session` (`project_id`);\n" +
	"CREATE INDEX `session_parent_idx` ON `session` (`parent_id`);\n" +
	"CREATE INDEX `todo_session_idx` ON `todo` (`session_id`);\n" +
	"CREATE TABLE `control_account` (\n" +
	"\t`email` text NOT NULL,\n\t`url` text NOT NULL,\n\t`access_token` text NOT NULL,\n\t`refresh_token` text NOT NULL,\n\t`token_expiry` integer,\n" +
	"\t`active` integer NOT NULL,\n\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n\tCONSTRAINT `control_account_pk` PRIMARY KEY(`email`, `url`)\n);\n" +
	"CREATE TABLE `workspace` (\n" +
	"\t`id` text PRIMARY KEY,\n\t`branch` text,\n\t`project_id` text NOT NULL,\n\t`type` text NOT NULL, `name` text, `directory` text, `extra` text,\n" +
	"\tCONSTRAINT `fk_workspace_project_id_project_id_fk` FOREIGN KEY (`project_id`) REFERENCES `project`(`id`) ON DELETE CASCADE\n);\n" +
	"CREATE INDEX `session_workspace_idx` ON `session` (`workspace_id`);\n" +
	"CREATE TABLE `account` (\n" +
	"\t`id` text PRIMARY KEY,\n\t`email` text NOT NULL,\n\t`url` text NOT NULL,\n\t`access_token` text NOT NULL,\n\t`refresh_token` text NOT NULL,\n" +
	"\t`token_expiry` integer,\n\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL\n);\n" +
	"CREATE TABLE `account_state` (\n" +
	"\t`id` integer PRIMARY KEY NOT NULL,\n\t`active_account_id` text, `active_org_id` text,\n" +
	"\tFOREIGN KEY (`active_account_id`) REFERENCES `account`(`id`) ON UPDATE no action ON DELETE set null\n);\n" +
	"CREATE INDEX `message_session_time_created_id_idx` ON `message` (`session_id`,`time_created`,`id`);\n" +
	"CREATE INDEX `part_message_id_id_idx` ON `part` (`message_id`,`id`);\n" +
	"CREATE TABLE `event_sequence` (\n\t`aggregate_id` text PRIMARY KEY,\n\t`seq` integer NOT NULL\n);\n" +
	"CREATE TABLE `event` (\n" +
	"\t`id` text PRIMARY KEY,\n\t`aggregate_id` text NOT NULL,\n\t`seq` integer NOT NULL,\n\t`type` text NOT NULL,\n\t`data` text NOT NULL,\n" +
	"\tCONSTRAINT `fk_event_aggregate_id_event_sequence_aggregate_id_fk` FOREIGN KEY (`aggregate_id`) REFERENCES `event_sequence`(`aggregate_id`) ON DELETE CASCADE\n);\n"

// SchemaV2 is what newer builds add: the session_message table of the V2
// session runtime (anomalyco/opencode packages/opencode/src/session/
// session.sql.ts SessionMessageTable; rows are @opencode-ai/core
// SessionMessage values without id and type) and the session's token
// aggregates, which sessiond does not read.
const SchemaV2 = "CREATE TABLE `session_message` (\n" +
	"\t`id` text PRIMARY KEY,\n\t`session_id` text NOT NULL,\n\t`type` text NOT NULL,\n\t`seq` integer NOT NULL,\n" +
	"\t`time_created` integer NOT NULL,\n\t`time_updated` integer NOT NULL,\n\t`data` text NOT NULL,\n" +
	"\tCONSTRAINT `fk_session_message_session_id_session_id_fk` FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON DELETE CASCADE\n);\n" +
	"CREATE INDEX `session_message_session_idx` ON `session_message` (`session_id`);\n" +
	"CREATE INDEX `session_message_session_type_idx` ON `session_message` (`session_id`,`type`);\n" +
	"CREATE INDEX `session_message_time_created_idx` ON `session_message` (`time_created`);\n" +
	"ALTER TABLE `session` ADD `cost` real DEFAULT 0 NOT NULL;\n" +
	"ALTER TABLE `session` ADD `tokens_input` integer DEFAULT 0 NOT NULL;\n" +
	"ALTER TABLE `session` ADD `tokens_output` integer DEFAULT 0 NOT NULL;\n" +
	"ALTER TABLE `session` ADD `tokens_reasoning` integer DEFAULT 0 NOT NULL;\n" +
	"ALTER TABLE `session` ADD `tokens_cache_read` integer DEFAULT 0 NOT NULL;\n" +
	"ALTER TABLE `session` ADD `tokens_cache_write` integer DEFAULT 0 NOT NULL;\n"
