//! The texts WhatsApp writes itself, per language (`whatsapp-format.md` §3.4, §4): system
//! events, media placeholders, attachment markers, deleted/edited/waiting notices, locations,
//! calls. Matching is ASCII-case-insensitive; callers strip the invisible marks first.
//! Cells marked [parser] or [strings] in the reference are included: a wrong guess only costs a
//! missed match, never a wrong split.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use super::super::model::{MediaKind, SystemEvent};

/// How a system phrase sits in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum At {
    Start,
    End,
    Anywhere,
}

/// System events, first match wins: specific phrases before generic ones (`removed X as admin`
/// is an admin change, not a removal; ` left` comes last).
pub(crate) const SYSTEM: &[(At, &str, SystemEvent)] = {
    use At::{Anywhere, End, Start};
    use SystemEvent::*;
    &[
        // end-to-end encryption notices
        (
            Start,
            "Messages and calls are end-to-end encrypted",
            Encryption,
        ),
        (
            Start,
            "Messages to this chat and calls are now secured with end-to-end encryption",
            Encryption,
        ),
        (
            Start,
            "Messages to this group are now secured with end-to-end encryption",
            Encryption,
        ),
        (
            Start,
            "Messages you send to this chat and calls are now secured",
            Encryption,
        ),
        (
            Start,
            "Messages you send to this group are now secured",
            Encryption,
        ),
        (
            Start,
            "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt",
            Encryption,
        ),
        (
            Start,
            "I messaggi e le chiamate sono crittografati end-to-end",
            Encryption,
        ),
        (
            Start,
            "Los mensajes y las llamadas están cifrados de extremo a extremo",
            Encryption,
        ),
        (
            Start,
            "Les messages et les appels sont chiffrés de bout en bout",
            Encryption,
        ),
        (
            Start,
            "As mensagens e chamadas são encriptadas ponto a ponto",
            Encryption,
        ),
        (
            Start,
            "As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta",
            Encryption,
        ),
        (
            Start,
            "Berichten en oproepen worden end-to-end versleuteld",
            Encryption,
        ),
        // security code
        (Start, "Your security code with ", SecurityCodeChanged),
        (Anywhere, "'s security code changed", SecurityCodeChanged),
        (Start, "Deine Sicherheitsnummer für ", SecurityCodeChanged),
        (Start, "Dein Sicherheitscode für ", SecurityCodeChanged),
        (
            Start,
            "Il tuo codice di sicurezza con ",
            SecurityCodeChanged,
        ),
        (
            Start,
            "Cambió tu código de seguridad con ",
            SecurityCodeChanged,
        ),
        (Start, "Votre code de sécurité avec ", SecurityCodeChanged),
        (
            Start,
            "O seu código de segurança partilhado com ",
            SecurityCodeChanged,
        ),
        (Start, "Seu código de segurança com ", SecurityCodeChanged),
        // business accounts
        (Start, "This chat is with a business account", Business),
        (Start, "This business account ", Business),
        (
            Start,
            "This chat is with an official business account",
            Business,
        ),
        (Anywhere, "Geschäftskonto", Business),
        (Anywhere, "account business", Business),
        (Anywhere, "cuenta de empresa", Business),
        (Anywhere, "compte professionnel", Business),
        (Anywhere, "conta comercial", Business),
        // disappearing messages
        (Anywhere, "disappearing messages", DisappearingMessages),
        (Anywhere, "message timer", DisappearingMessages),
        (
            Anywhere,
            "selbstlöschende Nachrichten",
            DisappearingMessages,
        ),
        (Anywhere, "verschwindende Nachrichten", DisappearingMessages),
        (Anywhere, "messaggi effimeri", DisappearingMessages),
        (Anywhere, "mensajes temporales", DisappearingMessages),
        (Anywhere, "messages éphémères", DisappearingMessages),
        (Anywhere, "mensagens temporárias", DisappearingMessages),
        // admins
        (Start, "You're now an admin", Admin),
        (Start, "You're no longer an admin", Admin),
        (Start, "You are now an admin", Admin),
        (End, " an admin", Admin),
        (End, " as admin", Admin),
        (End, " as an admin", Admin),
        (Anywhere, "jetzt Admin", Admin),
        (Anywhere, "kein Admin mehr", Admin),
        (Anywhere, "amministratore", Admin),
        (Anywhere, "administrador", Admin),
        (Anywhere, "administrateur", Admin),
        // settings, invite links, blocking
        (Anywhere, "changed this group's settings", SettingsChanged),
        (Anywhere, "changed the settings", SettingsChanged),
        (Anywhere, "changed settings:", SettingsChanged),
        (
            Anywhere,
            "revoked this group's invite link",
            SettingsChanged,
        ),
        (Anywhere, "reset this group's invite link", SettingsChanged),
        (Start, "You blocked this contact", SettingsChanged),
        (Start, "You unblocked this contact", SettingsChanged),
        (Anywhere, "advanced chat privacy", SettingsChanged),
        (Anywhere, "Gruppeneinstellungen", SettingsChanged),
        (Anywhere, "impostazioni del gruppo", SettingsChanged),
        (Anywhere, "configuración del grupo", SettingsChanged),
        (Anywhere, "ajustes del grupo", SettingsChanged),
        (Anywhere, "paramètres du groupe", SettingsChanged),
        (Anywhere, "configurações do grupo", SettingsChanged),
        // subject / group name
        (Anywhere, "changed the subject", SubjectChanged),
        (Anywhere, "changed the group name", SubjectChanged),
        (Anywhere, "Gruppennamen", SubjectChanged),
        (Anywhere, "Betreff", SubjectChanged),
        (Anywhere, "il nome del gruppo", SubjectChanged),
        (Anywhere, "ha modificato l'oggetto", SubjectChanged),
        (Anywhere, "cambió el asunto", SubjectChanged),
        (Anywhere, "el nombre del grupo", SubjectChanged),
        (Anywhere, "a modifié le sujet", SubjectChanged),
        (Anywhere, "le nom du groupe", SubjectChanged),
        (Anywhere, "mudou o assunto", SubjectChanged),
        (Anywhere, "o nome do grupo", SubjectChanged),
        (Anywhere, "grup adını", SubjectChanged),
        // description
        (Anywhere, "the group description", DescriptionChanged),
        (Anywhere, "Gruppenbeschreibung", DescriptionChanged),
        (Anywhere, "descrizione del gruppo", DescriptionChanged),
        (Anywhere, "descripción del grupo", DescriptionChanged),
        (Anywhere, "description du groupe", DescriptionChanged),
        (Anywhere, "descrição do grupo", DescriptionChanged),
        // icon
        (Anywhere, "this group's icon", IconChanged),
        (Anywhere, "the group icon", IconChanged),
        (Anywhere, "Gruppenbild", IconChanged),
        (Anywhere, "immagine del gruppo", IconChanged),
        (Anywhere, "ícono del grupo", IconChanged),
        (Anywhere, "imagen del grupo", IconChanged),
        (Anywhere, "icône du groupe", IconChanged),
        (Anywhere, "photo du groupe", IconChanged),
        (Anywhere, "imagem do grupo", IconChanged),
        (Anywhere, "ícone do grupo", IconChanged),
        (Anywhere, "grubun simgesini", IconChanged),
        // phone number
        (Anywhere, " changed to +", NumberChanged),
        (Anywhere, "changed their phone number", NumberChanged),
        (Anywhere, "changed their number", NumberChanged),
        (Anywhere, "Telefonnummer", NumberChanged),
        (Anywhere, "ha cambiato numero", NumberChanged),
        (Anywhere, "cambió su número", NumberChanged),
        (Anywhere, "a changé de numéro", NumberChanged),
        (Anywhere, "mudou de número", NumberChanged),
        (Anywhere, "mudou seu número", NumberChanged),
        // created
        (Anywhere, "created group", Created),
        (End, " created this group", Created),
        (End, " created the group", Created),
        (Start, "Du hast die Gruppe \"", Created),
        (Anywhere, " hat die Gruppe \"", Created),
        (Anywhere, "creato il gruppo", Created),
        (Anywhere, "creó el grupo", Created),
        (Anywhere, "creaste el grupo", Created),
        (Anywhere, "créé le groupe", Created),
        (Anywhere, "criou o grupo", Created),
        (Anywhere, " bu grubu oluşturdu", Created),
        // joined
        (Anywhere, "joined using this group's invite link", Joined),
        (Anywhere, "joined via invite link", Joined),
        (Anywhere, "joined using an invite link", Joined),
        (Anywhere, "Einladungslink", Joined),
        (Anywhere, "tramite link di invito", Joined),
        (Anywhere, "enlace de invitación", Joined),
        (Anywhere, " a rejoint", Joined),
        (Anywhere, " entrou usando o link", Joined),
        (End, " joined", Joined),
        // added
        (Anywhere, " added ", Added),
        (End, " added you", Added),
        (End, " was added", Added),
        (End, " were added", Added),
        (Start, "You were added", Added),
        (Anywhere, "hinzugefügt", Added),
        (Anywhere, "aggiunto", Added),
        (Anywhere, " añadió a ", Added),
        (Start, "Añadiste a ", Added),
        (Anywhere, " a ajouté ", Added),
        (Anywhere, "avez ajouté ", Added),
        (Anywhere, "adicionou ", Added),
        (Anywhere, "sizi ekledi", Added),
        (Anywhere, " ekledi", Added),
        // removed
        (Anywhere, " removed ", Removed),
        (End, " was removed", Removed),
        (Anywhere, " entfernt", Removed),
        (Anywhere, "rimosso ", Removed),
        (Anywhere, " eliminó a ", Removed),
        (Start, "Eliminaste a ", Removed),
        (Anywhere, " a retiré ", Removed),
        (Anywhere, "avez retiré ", Removed),
        (Anywhere, " removeu ", Removed),
        // left
        (End, " left", Left),
        (End, " left the group", Left),
        (Anywhere, "die Gruppe verlassen", Left),
        (Anywhere, " è uscito", Left),
        (Anywhere, " è uscita", Left),
        (Start, "Sei uscito", Left),
        (End, " salió", Left),
        (Anywhere, " salió del grupo", Left),
        (Start, "Saliste", Left),
        (End, " a quitté", Left),
        (Anywhere, " a quitté le groupe", Left),
        (Start, "Vous avez quitté", Left),
        (End, " saiu", Left),
        (Anywhere, " saiu do grupo", Left),
        (Start, "Você saiu", Left),
    ]
};

/// Phrases that make an *authored* line without a leading LRM a system event (iOS attributed
/// events in files whose marks were stripped): only full sentences nobody types.
pub(crate) const STRONG_SYSTEM_PREFIXES: &[&str] = &[
    "Messages and calls are end-to-end encrypted",
    "Messages to this chat and calls are now secured",
    "Messages to this group are now secured",
    "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt",
    "I messaggi e le chiamate sono crittografati end-to-end",
    "Los mensajes y las llamadas están cifrados de extremo a extremo",
    "Les messages et les appels sont chiffrés de bout en bout",
    "As mensagens e chamadas são encriptadas ponto a ponto",
    "As mensagens e as chamadas são protegidas com a criptografia",
    "Your security code with ",
    "Deine Sicherheitsnummer für ",
    "Dein Sicherheitscode für ",
    "Il tuo codice di sicurezza con ",
    "Cambió tu código de seguridad con ",
    "Votre code de sécurité avec ",
    "O seu código de segurança partilhado com ",
    "Seu código de segurança com ",
    "This chat is with a business account",
    "This business account has now registered",
];

/// Authorless lines that are calls (`X started a call`).
pub(crate) const CALL_SUFFIXES: &[&str] = &[
    " started a call",
    " started a video call",
    " started a voice call",
    " started a group call",
];

/// Android/Web `<Media omitted>` tokens; `None` kind = unknown. Web tokens carry the type and a
/// caption may follow on the same line.
pub(crate) const ANGLE_OMITTED: &[(&str, MediaKind)] = {
    use MediaKind::*;
    &[
        ("<Media omitted>", Unknown),
        ("<Medien ausgeschlossen>", Unknown),
        ("<Medien weggelassen>", Unknown),
        ("<Media omessi>", Unknown),
        ("<Media omesso>", Unknown),
        ("<Multimedia omitido>", Unknown),
        ("<Archivo omitido>", Unknown),
        ("<Médias omis>", Unknown),
        ("<Fichier omis>", Unknown),
        ("<Mídia oculta>", Unknown),
        ("<Arquivo de mídia oculto>", Unknown),
        ("<Mídia omitida>", Unknown),
        ("<Media weggelaten>", Unknown),
        ("<Без медиафайлов>", Unknown),
        ("<Média vynechány>", Unknown),
        ("<Medya dahil edilmedi>", Unknown),
        ("<Multimedia omitted>", Unknown),
        ("<Media Skipped>", Unknown),
        ("<Video message omitted>", VideoNote),
        ("<Video note omitted>", VideoNote),
        ("<voice message omitted>", VoiceNote),
        ("<image omitted>", Image),
        ("<video omitted>", Video),
        ("<audio omitted>", Audio),
        ("<document omitted>", Document),
        ("<sticker omitted>", Sticker),
        ("<GIF omitted>", Gif),
    ]
};

/// What an iOS "omitted" phrase stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Omitted {
    Media(MediaKind),
    Contact,
}

/// iOS typed placeholders (current: bare, LRM-prefixed; 2015–17: in angle brackets).
pub(crate) const IOS_OMITTED: &[(&str, Omitted)] = {
    use MediaKind::*;
    use Omitted::{Contact, Media};
    &[
        ("image omitted", Media(Image)),
        ("video omitted", Media(Video)),
        ("audio omitted", Media(Audio)),
        ("sticker omitted", Media(Sticker)),
        ("GIF omitted", Media(Gif)),
        ("video note omitted", Media(VideoNote)),
        ("document omitted", Media(Document)),
        ("Contact card omitted", Contact),
        ("Bild weggelassen", Media(Image)),
        ("Video weggelassen", Media(Video)),
        ("Audio weggelassen", Media(Audio)),
        ("Sticker weggelassen", Media(Sticker)),
        ("GIF weggelassen", Media(Gif)),
        ("Dokument weggelassen", Media(Document)),
        ("Kontaktkarte ausgelassen", Contact),
        ("immagine omessa", Media(Image)),
        ("video omesso", Media(Video)),
        ("audio omesso", Media(Audio)),
        ("sticker non incluso", Media(Sticker)),
        ("GIF esclusa", Media(Gif)),
        ("documento omesso", Media(Document)),
        ("Scheda contatto omessa", Contact),
        ("imagen omitida", Media(Image)),
        ("Video omitido", Media(Video)),
        ("audio omitido", Media(Audio)),
        ("sticker omitido", Media(Sticker)),
        ("GIF omitido", Media(Gif)),
        ("documento omitido", Media(Document)),
        ("Tarjeta de contacto omitida", Contact),
        ("image absente", Media(Image)),
        ("vidéo absente", Media(Video)),
        ("audio omis", Media(Audio)),
        ("sticker omis", Media(Sticker)),
        ("GIF retiré", Media(Gif)),
        ("document manquant", Media(Document)),
        ("Fiche contact manquante", Contact),
        ("imagem não revelada", Media(Image)),
        ("vídeo não revelado", Media(Video)),
        ("ficheiro de áudio não revelado", Media(Audio)),
        ("sticker não revelado", Media(Sticker)),
        ("GIF não revelada", Media(Gif)),
        ("documento não revelado", Media(Document)),
        ("Contacto não revelado", Contact),
        ("imagem ocultada", Media(Image)),
        ("áudio ocultado", Media(Audio)),
        ("figurinha omitida", Media(Sticker)),
        ("Cartão do contato omitido", Contact),
    ]
};

/// Longest entry of [`IOS_OMITTED`] in bytes, for a cheap length gate.
pub(crate) const IOS_OMITTED_MAX: usize = 40;

/// The keyword of iOS `<attached: NAME>` (§4.2), per language.
pub(crate) const ATTACHED_KEYWORDS: &[&str] = &[
    "attached",
    "Anhang",
    "angehängt",
    "allegato",
    "adjunto",
    "pièce jointe",
    "anexo",
    "anexado",
    "bijgevoegd",
    "terlampir",
    "المُرفق",
    "المرفق",
    "添付ファイル",
    "附件",
];

/// Android/Web `NAME (file attached)` markers.
pub(crate) const FILE_ATTACHED: &[&str] = &[
    "(file attached)",
    "(Datei angehängt)",
    "(file allegato)",
    "(archivo adjunto)",
    "(archivo adjuntado)",
    "(fichier joint)",
    "(arquivo anexado)",
    "(ficheiro anexado)",
    "(bestand bijgevoegd)",
    "(файл добавлен)",
    "(soubor byl přiložen)",
];

/// Messages deleted by their sender (compared without a final period).
pub(crate) const DELETED: &[&str] = &[
    "This message was deleted",
    "You deleted this message",
    "Diese Nachricht wurde gelöscht",
    "Du hast diese Nachricht gelöscht",
    "Questo messaggio è stato eliminato",
    "Hai eliminato questo messaggio",
    "Se eliminó este mensaje",
    "Eliminaste este mensaje",
    "Ce message a été supprimé",
    "Vous avez supprimé ce message",
    "Esta mensagem foi apagada",
    "Mensagem apagada",
    "Apagou esta mensagem",
    "Você apagou esta mensagem",
    "Dit bericht is verwijderd",
    "Je hebt dit bericht verwijderd",
];

/// Admin deletions (prefixes: the admin's name follows).
pub(crate) const DELETED_BY_ADMIN: &[&str] = &[
    "This message was deleted by admin",
    "This message was deleted by an admin",
    "You deleted this message as admin",
];

/// The edited marker at the end of the last line.
pub(crate) const EDITED: &[&str] = &[
    "<This message was edited>",
    "<Questo messaggio è stato modificato>",
    "<Se editó este mensaje.>",
    "<Se editó este mensaje>",
    "<Diese Nachricht wurde bearbeitet>",
    "<Ce message a été modifié>",
    "<Mensagem editada>",
    "<Dit bericht is bewerkt>",
];

/// Undecryptable messages (prefixes; iOS adds `. This may take a while.`).
pub(crate) const WAITING: &[&str] = &[
    "Waiting for this message",
    "Warten auf diese Nachricht",
    "In attesa di questo messaggio",
    "Esperando este mensaje",
    "Esperando el mensaje",
    "En attente de ce message",
    "Aguardando esta mensagem",
    "Aguardando mensagem",
];

/// View-once notices (prefixes).
pub(crate) const VIEW_ONCE: &[&str] = &["You received a view once message"];

/// Live location (compared without a final period).
pub(crate) const LIVE_LOCATION: &[&str] = &[
    "live location shared",
    "Live-Standort wird geteilt",
    "posizione attuale condivisa",
    "ubicación en tiempo real compartida",
    "Localisation en direct partagée",
    "localização atual compartilhada",
];

/// Location labels; a URL or coordinates follow.
pub(crate) const LOCATION_LABELS: &[&str] = &[
    "location: ",
    "Location: ",
    "Standort: ",
    "Posizione: ",
    "Ubicación: ",
    "ubicación: ",
    "Localisation: ",
    "Localização: ",
    "Locatie: ",
];

/// Call lines: exact, or followed by `.` and details (`Voice call. 3 min`).
pub(crate) const CALLS: &[&str] = &[
    "Missed voice call",
    "Missed video call",
    "Missed group voice call",
    "Missed group video call",
    "Voice call",
    "Video call",
    "Group voice call",
    "Group video call",
    "Silenced voice call",
    "Silenced video call",
    "Verpasster Sprachanruf",
    "Verpasster Videoanruf",
    "Chiamata vocale persa",
    "Videochiamata persa",
    "Llamada perdida",
    "Llamada de voz perdida",
    "Videollamada perdida",
    "Appel vocal manqué",
    "Appel vidéo manqué",
    "Chamada de voz perdida",
    "Chamada de vídeo perdida",
    "Videochamada perdida",
];

/// ASCII-case-insensitive `starts_with`.
pub(crate) fn starts_with_ci(text: &str, prefix: &str) -> bool {
    let (text, prefix) = (text.as_bytes(), prefix.as_bytes());
    // First byte, then length, before the full comparison: most candidates fail here.
    match (text.first(), prefix.first()) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
        (_, None) => return true,
        _ => return false,
    }
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// ASCII-case-insensitive equality, first byte and length first.
pub(crate) fn eq_ci(text: &str, other: &str) -> bool {
    text.len() == other.len() && starts_with_ci(text, other)
}

/// ASCII-case-insensitive `ends_with`.
pub(crate) fn ends_with_ci(text: &str, suffix: &str) -> bool {
    let bytes = text.as_bytes();
    // Last byte first: most candidates fail there.
    match (bytes.last(), suffix.as_bytes().last()) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
        (_, None) => return true,
        _ => return false,
    }
    bytes.len() >= suffix.len()
        && bytes
            .get(bytes.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
}

/// The [`SYSTEM`] table prepared for lookups: the [`At::Start`] and [`At::End`] rows (few, each
/// a cheap comparison), and every [`At::Anywhere`] phrase in one automaton, so that one pass
/// over a text finds all the phrases it holds instead of a substring search per phrase.
struct SystemIndex {
    /// Indexes in [`SYSTEM`] of the rows that are not [`At::Anywhere`], in table order.
    anchored: Vec<usize>,
    /// Per byte (ASCII lower case), which of the `anchored` rows (bits, in table order) may
    /// match a text starting with it ([`At::Start`]) or ending with it ([`At::End`]); when
    /// there are more than 64 such rows, every row is tried.
    starting: [u64; 256],
    ending: [u64; 256],
    /// The automaton over the [`At::Anywhere`] phrases (`None` if it could not be built: every
    /// phrase is then searched one by one), and the [`SYSTEM`] index of each pattern.
    anywhere: Option<AhoCorasick>,
    anywhere_rows: Vec<usize>,
    /// How far past its first `:` the longest phrase holding one reaches (0: none holds one),
    /// and whether an [`At::End`] phrase holds one (see [`system_phrase_before`]).
    colon_reach: usize,
    colon_at_end: bool,
}

static INDEX: LazyLock<SystemIndex> = LazyLock::new(|| {
    let rows = || SYSTEM.iter().enumerate();
    let anywhere_rows: Vec<usize> = rows()
        .filter(|(_, (at, _, _))| matches!(at, At::Anywhere))
        .map(|(row, _)| row)
        .collect();
    let anchored: Vec<usize> = rows()
        .filter(|(_, (at, _, _))| !matches!(at, At::Anywhere))
        .map(|(row, _)| row)
        .collect();
    let (mut starting, mut ending) = ([0u64; 256], [0u64; 256]);
    for (bit, row) in anchored.iter().enumerate().take(64) {
        let Some((at, phrase, _)) = SYSTEM.get(*row) else {
            continue;
        };
        let (table, byte) = match at {
            At::Start => (&mut starting, phrase.as_bytes().first()),
            _ => (&mut ending, phrase.as_bytes().last()),
        };
        if let Some(mask) = byte.and_then(|b| table.get_mut(usize::from(b.to_ascii_lowercase()))) {
            *mask |= 1 << bit;
        }
    }
    let colon_reach = SYSTEM
        .iter()
        .filter_map(|(_, phrase, _)| phrase.find(':').map(|at| phrase.len() - at))
        .max()
        .unwrap_or(0);
    let colon_at_end = SYSTEM
        .iter()
        .any(|(at, phrase, _)| matches!(at, At::End) && phrase.contains(':'));
    SystemIndex {
        anchored,
        starting,
        ending,
        colon_reach,
        colon_at_end,
        // A DFA (a few hundred KiB for these phrases): the fastest search per byte, and
        // authors whose names hold a quote have their whole line searched.
        anywhere: AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .build(
                anywhere_rows
                    .iter()
                    .filter_map(|row| SYSTEM.get(*row).map(|(_, phrase, _)| phrase)),
            )
            .ok(),
        anywhere_rows,
    }
});

/// The first row of [`SYSTEM`] (in table order) that matches `text`, and where its phrase
/// starts in `text` (an [`At::Anywhere`] phrase: its first occurrence).
fn first_match(text: &str) -> Option<(usize, usize)> {
    let index = &*INDEX;
    let lower = |byte: Option<&u8>| usize::from(byte.map_or(0, u8::to_ascii_lowercase));
    let bytes = text.as_bytes();
    let anchored_hit = |row: &usize| {
        let (at, phrase, _) = SYSTEM.get(*row)?;
        match at {
            At::Start => starts_with_ci(text, phrase).then_some((*row, 0)),
            At::End => ends_with_ci(text, phrase).then(|| (*row, text.len() - phrase.len())),
            At::Anywhere => None,
        }
    };
    // The first 64 anchored rows through the masks (a set bit: the first or last byte fits),
    // in table order; any further ones (none today) one by one.
    let mut candidates = index
        .starting
        .get(lower(bytes.first()))
        .copied()
        .unwrap_or(0)
        | index.ending.get(lower(bytes.last())).copied().unwrap_or(0);
    let mut best = None;
    while candidates != 0 && best.is_none() {
        let bit = candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        best = index.anchored.get(bit).and_then(anchored_hit);
    }
    if best.is_none() {
        best = index.anchored.iter().skip(64).find_map(anchored_hit);
    }
    let mut consider = |row: usize, start: usize| match best {
        Some((found, at)) if found < row || (found == row && at <= start) => {}
        _ => best = Some((row, start)),
    };
    match &index.anywhere {
        // Most texts hold no phrase: `is_match` says so fastest (its prefilter skips ahead).
        Some(automaton) if !automaton.is_match(text) => {}
        Some(automaton) => {
            for found in automaton.find_overlapping_iter(text) {
                if let Some(row) = index.anywhere_rows.get(found.pattern().as_usize()) {
                    consider(*row, found.start());
                }
            }
        }
        None => {
            for row in &index.anywhere_rows {
                if let Some((_, phrase, _)) = SYSTEM.get(*row)
                    && let Some(start) = text.find(phrase)
                {
                    consider(*row, start);
                }
            }
        }
    }
    best
}

/// The system event a text (marks stripped) is, if it matches the table.
pub(crate) fn system_event(text: &str) -> Option<SystemEvent> {
    let (row, _) = first_match(text.trim_end_matches(['.', ' ']))?;
    SYSTEM.get(row).map(|(_, _, event)| *event)
}

/// Whether the system phrase that matches `text` starts before `at`, the place of a `:` in it
/// (`system_phrase_start(text) < at`: `Tom changed the subject to "a: b"` is an event, not `Tom
/// changed…` writing). A phrase that starts before the `:` lies before it, or reaches past it
/// only as far as a phrase holding a `:` does; when that part of the text holds no phrase, the
/// rest is not searched (a name with a quote in it sends each of its messages here).
pub(crate) fn system_phrase_before(text: &str, at: usize) -> bool {
    let index = &*INDEX;
    if !index.colon_at_end {
        let end = text.ceil_char_boundary(at + index.colon_reach);
        // Any phrase in the text up to there (a prefix's `End` phrases too: the full search
        // below settles those).
        if first_match(text.get(..end).unwrap_or(text)).is_none() {
            return false;
        }
    }
    system_phrase_start(text).is_some_and(|start| start < at)
}

/// Where in `text` the system phrase that matches it starts (to tell `Tom changed the subject
/// to "a: b"` from an author `Tom` writing).
pub(crate) fn system_phrase_start(text: &str) -> Option<usize> {
    first_match(text.trim_end_matches(['.', ' '])).map(|(_, start)| start)
}
