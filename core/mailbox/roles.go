package mailbox

import "strings"

// conventionalNames are the names mail clients and servers give special
// folders when the server has no SPECIAL-USE (RFC 6154), in their usual
// spelling, English first. Sources: the English names are those of
// RFC 6154's examples, Thunderbird, Apple Mail ("Sent Messages",
// "Deleted Messages"), Outlook/Exchange ("Sent Items", "Deleted Items",
// "Junk E-mail") and Gmail ("Sent Mail", "Bulk Mail" on Yahoo). The
// localised names are Outlook's and Exchange's default folder names in
// that UI language: Exchange creates its special folders in the language
// of the first client that opens the mailbox and keeps those names
// (Microsoft KB 325625, "How special folder names are assigned for
// multiple language clients"), so a mailbox that came through Exchange
// carries them onto any IMAP server; plus the names Thunderbird and Apple
// Mail use in German, French, Spanish, Italian, Dutch, Portuguese and
// Russian where they differ. Languages: de, fr, es, it, nl, pt-BR, sv, da,
// nb, fi, pl, ru.
var conventionalNames = map[string][]string{
	RoleSent: {"Sent", "Sent Items", "Sent Messages", "Sent Mail",
		"Gesendete Elemente", "Gesendet", "Gesendete Objekte", // de
		"Éléments envoyés", "Envoyés", // fr
		"Elementos enviados", "Enviados", // es, pt
		"Posta inviata", "Inviata", // it
		"Verzonden items", "Verzonden", // nl
		"Itens Enviados",   // pt-BR
		"Skickat",          // sv
		"Sendt post",       // da
		"Sendte elementer", // nb
		"Lähetetyt",        // fi
		"Elementy wysłane", // pl
		"Отправленные",     // ru
	},
	RoleDrafts: {"Drafts", "Draft", "Entwürfe", "Brouillons", "Borradores", "Bozze", "Concepten",
		"Rascunhos", "Utkast", "Kladder", "Luonnokset", "Kopie robocze", "Черновики"},
	RoleTrash: {"Trash", "Deleted Items", "Deleted Messages", "Bin",
		"Gelöschte Elemente", "Papierkorb", "Gelöschte Objekte", // de
		"Éléments supprimés", "Corbeille", // fr
		"Elementos eliminados", "Papelera", // es
		"Posta eliminata", "Cestino", // it
		"Verwijderde items", "Prullenbak", // nl
		"Itens Excluídos", "Lixeira", // pt-BR
		"Borttaget",            // sv
		"Slettet post",         // da
		"Slettede elementer",   // nb
		"Poistetut",            // fi
		"Elementy usunięte",    // pl
		"Удаленные", "Корзина", // ru
	},
	RoleJunk: {"Junk", "Junk E-mail", "Junk Email", "Spam", "Bulk Mail",
		"Junk-E-Mail", "Courrier indésirable", "Indésirables", "Correo no deseado", "Posta indesiderata",
		"Ongewenste e-mail", "Lixo Eletrônico", "Skräppost", "Uønsket mail", "Søppelpost", "Roskaposti",
		"Wiadomości-śmieci", "Нежелательная почта", "Спам"},
	RoleArchive: {"Archive", "Archives", "Archiv", "Archivio", "Archivo", "Archief", "Arquivo", "Arkiv",
		"Arkisto", "Archiwum", "Архив"},
}

var (
	byExactName = map[string]string{}
	byFoldName  = map[string]string{}
)

func init() {
	for role, names := range conventionalNames {
		for _, n := range names {
			byExactName[n] = role
			byFoldName[strings.ToLower(n)] = role
		}
	}
}

// RoleForName is the role a folder named name has by convention ("" if
// none), and whether the name is spelled exactly as the convention spells
// it ("Sent Items") rather than only equal ignoring case ("sent items"):
// a mailbox with both "Archive" and "archive" gives the role to the
// former.
func RoleForName(name string) (role string, exact bool) {
	if r, ok := byExactName[name]; ok {
		return r, true
	}
	return byFoldName[strings.ToLower(name)], false
}

// ConventionalNames lists the conventional names of role, most common
// first.
func ConventionalNames(role string) []string {
	return append([]string(nil), conventionalNames[role]...)
}
