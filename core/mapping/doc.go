// Package mapping turns a source folder tree into a destination folder
// tree: folder mapping rules, the folder filter, hierarchy separator
// translation, name sanitising and case-insensitive collision handling.
// It is pure logic (no I/O); the engine, `mailferry plan` and the GUI's
// live preview all call Plan.
//
// Semantics, in the order they are applied to each source folder:
//
//  1. Paths. A source folder is its components (mailbox.Folder.Path, split
//     on the source's own delimiter). Rules and the filter see the
//     components joined with "/". A "/" inside a component (possible when
//     the source delimiter is ".") is not a separator: while rules run it
//     is held as the private-use rune U+F02F, so a rule can never split or
//     join on it, and it is restored to "/" in the resulting component.
//  2. Filter. FolderFilter (project option, or the user's FolderFilter
//     support option which replaces it) is a case-insensitive regex on the
//     "/" path; a matching folder is skipped, with the reason.
//  3. Rules. FolderMapping rules "REGEX->REPLACEMENT" (Go regexp syntax,
//     $1 for groups) are tried in order: the user's support-option rules
//     first, then the project's, and the FIRST rule whose regex matches is
//     applied (regexp ReplaceAllString on the whole path); later rules are
//     not applied. This way a per-user rule overrides a project rule for
//     the same folders, as support options override project options in
//     MigrationWiz. The result is split on "/" and empty components of a rule's
//     output are dropped; a rule that produces an empty path skips the
//     folder. (An empty component in a source name is kept and sanitised.)
//  4. Sanitising, per component: control characters removed; surrounding
//     white space trimmed; a `"` becomes `'` unless AllowQuoteInFolder=1
//     (MigrationWiz semantics: quotes break some IMAP servers' parsers,
//     "Unexpected extra arguments to Examine Context"); "." and ".." get a
//     "_" prefix; an empty component becomes "_"; a component longer than
//     MaxComponentBytes is cut at a rune boundary.
//  5. Collisions. Exchange compares folder names case-insensitively (and
//     sanitising may make two names equal). Rows are processed in source
//     path order; when a destination component equals (under Unicode case
//     folding) a sibling produced from a different mapped name, the later
//     one gets " (2)", " (3)", ... and its sub-folders follow it. Two
//     source folders that a rule maps to the very same path are merged on
//     purpose (that is what mapping several folders to one means).
//
// Destination type (Rules.ForDest, CompileFor): an IMAP destination keeps
// quotes in names and tells names apart by case (so "Archive" and
// "archive" both keep their names, as on a Dovecot source, and only exact
// sanitising collisions get a suffix); Exchange destinations (EWS, Graph)
// get the strict rules above. On a case-insensitive IMAP server a
// case-only twin cannot be created: its items are reported as failed with
// a hint to add a FolderMapping rule.
//
// Namespaces: sources give folder paths without their personal-namespace
// prefix (mailbox.Folder.Path); folders of shared and other users'
// namespaces (Folder.Namespace) are skipped unless IncludeShared (project
// option IncludeSharedFolders).
//
// Roles: a folder with a role (SPECIAL-USE, else a conventional name, see
// mailbox.RoleForName) keeps it in PlanRow.Role, and the destination maps
// it to its own folder of that role (Exchange's well-known folders, an
// IMAP server's SPECIAL-USE folder); RoleNote says where and why, and
// subfolders note that they follow their parent. An explicit mapping rule
// that renames the folder wins: the role is dropped, unless the rule's
// result is itself a conventional name of that role.
package mapping
