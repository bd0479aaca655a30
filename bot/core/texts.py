"""Every user-facing sentence the conversation core sends, in Swedish and English.

Kept in one place so editors can change the wording without touching the dialogue logic.
Swedish is the default; English is used when the parent writes English.
"""

from __future__ import annotations

SV = "sv"
EN = "en"

_SV: dict[str, str] = {
    "welcome": (
        "Hej! Jag är Familjeguiden. Jag hjälper dig som förälder eller anhörig att hitta "
        "stöd för barn och familj där du bor.\n\n"
        'Skriv med egna ord vad du undrar över, till exempel "min son vill inte gå till '
        'skolan". Jag föreslår vilka som kan hjälpa och hur du når dem.\n\n'
        "Det här är ingen larmtjänst. Är någon i fara just nu: ring 112.\n"
        'Skriv "hjälp" för att läsa mer, eller "prata med någon" om du vill bli '
        "kontaktad av en person."
    ),
    "help": (
        "Så fungerar Familjeguiden:\n"
        "• Skriv din fråga med egna ord, så föreslår jag stöd där du bor och hur du når dem.\n"
        '• Skriv en siffra (1, 2, 3) för mer om en tjänst, "fler" för fler förslag, '
        '"vad kostar det?" för kostnad och "kommun" för att byta kommun.\n'
        '• Vill du hellre prata med en människa? Skriv "prata med någon", så kan '
        "en lots på Familjeguiden ta över och höra av sig.\n\n"
        "Det här är INTE en larmtjänst. Är någon i fara just nu: ring 112.\n\n"
        "Dina uppgifter: vi sparar det du skriver och våra svar, så att samtalet kan "
        "fortsätta och en lots kan hjälpa dig om du ber om det. Personnummer tas bort "
        'innan något sparas. Skriv "radera" när du vill att allt du skrivit tas bort.'
    ),
    "empty": (
        "Jag förstod inte riktigt. Skriv gärna med några ord vad du undrar över, "
        'till exempel "min dotter mår dåligt". Skriv "hjälp" för att läsa mer.'
    ),
    "truncated": "Ditt meddelande var väldigt långt, så jag läste bara början av det.",
    "thanks": (
        "Varsågod! Hoppas det blir bra för er. Du kan skriva igen när du vill, "
        'och "prata med någon" om du vill ha hjälp av en person.'
    ),
    "intro_results": "Här är några som kan hjälpa till:",
    "intro_also": "Här är också några som kan hjälpa till:",
    "offer_lots": (
        "En lots på Familjeguiden kan hjälpa dig att hitta rätt stöd och hålla ihop "
        'kontakterna. Vill du prata med en person? Tryck på knappen eller skriv "prata med någon".'
    ),
    "intro_more": "Här är fler förslag:",
    "no_more": (
        "Jag har inga fler förslag på den frågan. Skriv gärna frågan på ett annat sätt, "
        'eller "prata med någon" så hjälper en person dig vidare.'
    ),
    "nothing_yet": (
        "Skriv först vad du undrar över, så föreslår jag stöd. "
        'Till exempel: "min son på 12 är orolig och sover dåligt".'
    ),
    "follow_up_hint": (
        'Skriv en siffra för mer om en tjänst, "fler" för fler förslag eller '
        '"prata med någon" för att få hjälp av en person.'
    ),
    "municipality_note": 'Svaren gäller {municipality}. Skriv "kommun" för att byta.',
    "ask_age": 'Hur gammalt är barnet? Skriv till exempel "12 år", så anpassar jag förslagen.',
    "intro_age": "Här är förslag för ett barn som är {age} år:",
    "intro_municipality": "Här är förslag i {municipality}:",
    "age_noted": "Tack! Skriv din fråga, så tar jag hänsyn till att barnet är {age} år.",
    "not_confident": (
        "Jag är inte säker på att jag förstod rätt, så förslagen kanske inte passar. "
        'En person på Familjeguiden kan hjälpa dig vidare: skriv "prata med någon".'
    ),
    "no_hits": (
        "Jag hittade tyvärr inget som passar din fråga. Skriv gärna med andra ord, "
        'eller "prata med någon" så hjälper en person dig vidare.'
    ),
    "urgent": (
        "Är någon i fara just nu? Ring 112 direkt. Vänta inte på svar här.\n"
        "Det här är ingen larmtjänst och ingen läser meddelandet direkt."
    ),
    "urgent_numbers": "Andra nummer som kan hjälpa nu:",
    "detail_missing": "Jag har ingen tjänst med nummer {number}. Välj ett av numren i listan.",
    "detail_access": "Så får du kontakt: {access}",
    "detail_ages": "För barn och unga {min_age}–{max_age} år.",
    "detail_cost": "Kostnad: {cost}",
    "assured": "Uppgifterna kontrollerades senast {date}.",
    "unverified": "Kontaktuppgifterna är inte bekräftade, kontrollera dem innan du hör av dig.",
    "cost": "{name}: {cost}",
    "cost_unknown": (
        "Jag vet inte vad {name} kostar. Fråga dem när du hör av dig, eller skriv "
        '"prata med någon".'
    ),
    "cost_nothing": "Vilken tjänst menar du? Skriv först din fråga, så föreslår jag stöd.",
    "hours": "{name} har öppet:",
    "hours_unknown": "Jag har tyvärr inga öppettider för {name}.",
    "ask_them": "Fråga dem gärna direkt:\n{ways}",
    "contact_intro": "Så når du {name}:",
    "contact_unknown": "Jag har inga telefonnummer eller adresser till {name}.",
    "location": "Här finns {name}:",
    "location_national": "{name} är en nationell tjänst, så du når den var du än bor.",
    "location_unknown": "Jag har tyvärr ingen adress till {name}.",
    "location_area": "Den är till för dig som bor i {places}.",
    "audience_ages": "{name} är för barn och unga {min_age}–{max_age} år.",
    "ask_municipality": "Vilken kommun bor ni i? Skriv kommunens namn, till exempel Degerfors.",
    "municipality_set": "Tack! Jag svarar nu för {municipality}. Skriv din fråga.",
    "municipality_unclear": (
        "Jag kände inte igen kommunen. Skriv bara kommunens namn, till exempel Degerfors."
    ),
    "consent_question": "Är det okej? Svara ja eller nej.",
    "consent_declined": (
        "Okej, jag skickar inget vidare. Du kan fortsätta fråga mig, eller skriva "
        '"prata med någon" om du ändrar dig.'
    ),
    "consent_unclear": "Svara ja om en person får ta över, eller nej om du inte vill det.",
    "no_handoff": ("Du kan prata med en person på Familjeguiden (lotsen) direkt:\n{contacts}"),
    "no_handoff_unknown": (
        "Jag kan tyvärr inte koppla dig till en person härifrån. Kontakta kommunens växel "
        "eller socialtjänst i {municipality}, så hjälper de dig vidare."
    ),
    "delete_confirm": (
        "Vill du att allt du skrivit här raderas, även ett ärende hos en lots? "
        'Det går inte att ångra. Svara "radera ja" för att radera, eller "nej".'
    ),
    "delete_cancelled": "Okej, inget raderades.",
    "deleted": (
        "Klart. Allt du skrivit här och våra svar är raderade. Skriv igen när du vill, "
        "så börjar vi om."
    ),
    "error": (
        "Förlåt, något gick fel hos mig. Försök igen om en stund. "
        "Är någon i fara just nu: ring 112."
    ),
    "caution": "Är någon i fara just nu: ring 112 direkt.",
    "btn_more": "Fler",
    "btn_handoff": "Prata med en person",
    "btn_yes": "Ja",
    "btn_no": "Nej",
    "btn_delete_yes": "Ja, radera",
    "label_phone": "Telefon",
    "label_email": "E-post",
    "label_web": "Webb",
    "label_chat": "Chatt",
    "label_address": "Adress",
    "label_opening_hours": "Öppet",
    "access_open": "Du kan kontakta dem direkt.",
    "access_via_school": "Via skolan, till exempel elevhälsan eller mentorn.",
    "access_via_preschool": "Via förskolan.",
    "access_via_social_services": "Via socialtjänsten, efter ett beslut om stöd.",
    "access_referral": "Via remiss från vården eller någon annan som arbetar med barnet.",
}

_EN: dict[str, str] = {
    "welcome": (
        "Hi! I am Familjeguiden. I help parents and relatives find support for children "
        "and families where they live.\n\n"
        "Write what you are wondering about in your own words, and I will suggest who can "
        "help and how to reach them.\n\n"
        "This is not an emergency line. If someone is in danger right now: call 112.\n"
        'Write "help" to read more, or "talk to a person" to be contacted by a person.'
    ),
    "help": (
        "How Familjeguiden works:\n"
        "• Write your question in your own words and I suggest local support and how to "
        "reach it.\n"
        '• Write a number (1, 2, 3) for details, "more" for more suggestions, '
        '"what does it cost?" for the cost and "kommun" to change municipality.\n'
        '• Rather talk to a human? Write "talk to a person" and a lots '
        "(a guide) at Familjeguiden can take over and get in touch.\n\n"
        "This is NOT an emergency line. If someone is in danger right now: call 112.\n\n"
        "Your data: we store what you write and our answers, so the conversation can "
        "continue and a guide can help if you ask. Personal identity numbers are "
        'removed before anything is stored. Write "radera" (delete) to have everything '
        "you wrote deleted."
    ),
    "empty": (
        "I did not quite understand. Please write in a few words what you are wondering "
        'about. Write "help" to read more.'
    ),
    "truncated": "Your message was very long, so I only read the beginning of it.",
    "thanks": (
        "You are welcome! I hope things go well. Write again whenever you like, or "
        '"talk to a person" if you want help from a person.'
    ),
    "intro_results": "Here are some who can help:",
    "intro_also": "Here are also some who can help:",
    "offer_lots": (
        "A lots (a guide) at Familjeguiden can help you find the right support and keep the "
        'contacts together. Would you like to talk to a person? Press the button or write "talk '
        'to a person".'
    ),
    "intro_more": "Here are more suggestions:",
    "no_more": (
        "I have no more suggestions for that question. Try asking in another way, or "
        'write "talk to a person".'
    ),
    "nothing_yet": "First write what you are wondering about, and I will suggest support.",
    "follow_up_hint": (
        'Write a number for details, "more" for more suggestions or "talk to a person" '
        "to get help from a person."
    ),
    "municipality_note": (
        'The answers are for {municipality}. Write "kommun" to change municipality.'
    ),
    "ask_age": 'How old is the child? Write e.g. "12 years" and I will adjust the suggestions.',
    "intro_age": "Here are suggestions for a child aged {age}:",
    "intro_municipality": "Here are suggestions in {municipality}:",
    "age_noted": "Thank you! Write your question and I will keep in mind that the child is {age}.",
    "not_confident": (
        "I am not sure I understood correctly, so these suggestions may not fit. "
        'A person at Familjeguiden can help you further: write "talk to a person".'
    ),
    "no_hits": (
        "Sorry, I found nothing that fits your question. Try other words, or write "
        '"talk to a person".'
    ),
    "urgent": (
        "Is someone in danger right now? Call 112 immediately. Do not wait for an answer "
        "here.\nThis is not an emergency line and nobody reads this message right away."
    ),
    "urgent_numbers": "Other numbers that can help now:",
    "detail_missing": "I have no service number {number}. Choose one of the numbers listed.",
    "detail_access": "How to get in touch: {access}",
    "detail_ages": "For children and young people aged {min_age}–{max_age}.",
    "detail_cost": "Cost: {cost}",
    "assured": "The details were last checked on {date}.",
    "unverified": "The contact details are not confirmed; please check them first.",
    "cost": "{name}: {cost}",
    "cost_unknown": 'I do not know what {name} costs. Ask them, or write "talk to a person".',
    "cost_nothing": "Which service do you mean? First write your question.",
    "hours": "{name} is open:",
    "hours_unknown": "Sorry, I have no opening hours for {name}.",
    "ask_them": "You can ask them directly:\n{ways}",
    "contact_intro": "How to reach {name}:",
    "contact_unknown": "I have no phone number or address for {name}.",
    "location": "Where to find {name}:",
    "location_national": "{name} is a national service: you reach it wherever you live.",
    "location_unknown": "Sorry, I have no address for {name}.",
    "location_area": "It is for people who live in {places}.",
    "audience_ages": "{name} is for children and young people aged {min_age}–{max_age}.",
    "ask_municipality": "Which municipality do you live in? Write its name, e.g. Degerfors.",
    "municipality_set": "Thank you! I now answer for {municipality}. Write your question.",
    "municipality_unclear": "I did not recognise that municipality. Write just its name.",
    "consent_question": "Is that okay? Answer yes or no.",
    "consent_declined": (
        "Okay, I will not pass anything on. You can keep asking me, or write "
        '"talk to a person" if you change your mind.'
    ),
    "consent_unclear": "Answer yes if a person may take over, or no if you do not want that.",
    "no_handoff": "You can talk to a person at Familjeguiden directly:\n{contacts}",
    "no_handoff_unknown": (
        "Sorry, I cannot connect you to a person from here. Contact the switchboard or social "
        "services of {municipality} and they will help you further."
    ),
    "delete_confirm": (
        "Do you want everything you wrote here deleted, including any case with a "
        'guide? This cannot be undone. Answer "radera ja" to delete, or "no".'
    ),
    "delete_cancelled": "Okay, nothing was deleted.",
    "deleted": (
        "Done. Everything you wrote here and our answers have been deleted. Write again "
        "whenever you like and we start over."
    ),
    "error": (
        "Sorry, something went wrong on my side. Please try again in a while. "
        "If someone is in danger right now: call 112."
    ),
    "caution": "If someone is in danger right now: call 112 at once.",
    "btn_more": "More",
    "btn_handoff": "Talk to a person",
    "btn_yes": "Yes",
    "btn_no": "No",
    "btn_delete_yes": "Yes, delete",
    "label_phone": "Phone",
    "label_email": "E-mail",
    "label_web": "Web",
    "label_chat": "Chat",
    "label_address": "Address",
    "label_opening_hours": "Open",
    "access_open": "You can contact them directly.",
    "access_via_school": "Through the school, e.g. the pupil health team or the mentor.",
    "access_via_preschool": "Through the preschool.",
    "access_via_social_services": "Through social services, after a decision on support.",
    "access_referral": "With a referral from healthcare or another professional.",
}

TEXTS: dict[str, dict[str, str]] = {SV: _SV, EN: _EN}


def t(key: str, lang: str = SV, **values: object) -> str:
    """The text for `key` in `lang` (Swedish when the language or key is missing)."""
    template = TEXTS.get(lang, _SV).get(key) or _SV[key]
    return template.format(**values) if values else template
