"""Every text the engine shows, in Dutch and English. Rule ids and message keys are language-neutral.

A :class:`Message` is a key with parameters; it is rendered only at the edge, in the reader's
language, so that a decision can be stored, compared and translated later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal

import attrs

from ketenzorg.domain import CareSettingKind, IncidentSeverity, PartnerType, PartyRole, PersonRole, Text
from ketenzorg.instruments import AdvisedSetting, SafetyCode, Urgency

__all__ = ["LANGUAGES", "LITERAL", "Language", "Message", "enum_label", "is_known_key", "render"]

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")
LITERAL = "literal"
"""The key of a message that carries its own texts (see :meth:`Message.literal`)."""

_MONTHS = {
    "nl": (
        "januari", "februari", "maart", "april", "mei", "juni",
        "juli", "augustus", "september", "oktober", "november", "december",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip

_CATALOG: dict[str, dict[Language, str]] = {
    # phases and labels
    "phase.1": {"nl": "fase 1 (directe veiligheid)", "en": "phase 1 (immediate safety)"},
    "phase.2": {"nl": "fase 2 (risicogestuurde zorg)", "en": "phase 2 (risk-driven care)"},
    "phase.3": {"nl": "fase 3 (herstelgerichte zorg)", "en": "phase 3 (recovery care)"},
    "label.client": {"nl": "cliënt", "en": "client"},
    "status.passed": {"nl": "voldaan", "en": "met"},
    "status.failed": {"nl": "niet voldaan", "en": "not met"},
    "status.not_applicable": {"nl": "n.v.t.", "en": "n/a"},
    "decision.heading": {"nl": "Besluit voor casus {case}", "en": "Decision for case {case}"},
    "decision.phase": {"nl": "Huidige fase: {phase}", "en": "Current phase: {phase}"},
    "decision.closed": {"nl": "Casus afgesloten", "en": "Case closed"},
    "decision.may_advance": {"nl": "Mag door naar {phase}", "en": "May advance to {phase}"},
    "decision.may_not_advance": {
        "nl": "Mag (nog) niet door naar {phase}",
        "en": "May not (yet) advance to {phase}",
    },
    "decision.may_close": {
        "nl": "Mag afgesloten worden met overdracht",
        "en": "May be closed with a handover",
    },
    "decision.proposed_relapse": {
        "nl": "Voorstel: terugval naar {phase}; herzie het veiligheidsactieplan",
        "en": "Proposed: relapse to {phase}; revise the safety action plan",
    },
    "decision.alerts": {"nl": "Signalen", "en": "Alerts"},
    "decision.rules": {"nl": "Regels", "en": "Rules"},
    "decision.missing": {"nl": "ontbreekt", "en": "missing"},
    "decision.evidence": {"nl": "bewijs", "en": "evidence"},
    "decision.overridden_by": {
        "nl": "vervangen door plugin '{plugin}'",
        "en": "overridden by plugin '{plugin}'",
    },
    # evidence
    "evidence.score": {
        "nl": "{party}: score {score} op {date}",
        "en": "{party}: score {score} on {date}",
    },
    "evidence.incident": {
        "nl": "incident op {date} ({severity}{acute})",
        "en": "incident on {date} ({severity}{acute})",
    },
    "evidence.conference": {
        "nl": "MDO op {date}{client}",
        "en": "case conference on {date}{client}",
    },
    "evidence.plan": {
        "nl": "veiligheidsactieplan versie {version} van {date}",
        "en": "safety action plan version {version} of {date}",
    },
    "word.acute": {"nl": ", acuut", "en": ", acute"},
    "word.client_present": {"nl": ", cliënt aanwezig", "en": ", client present"},
    "word.client_absent": {"nl": ", cliënt afwezig", "en": ", client absent"},
    "severity.minor": {"nl": "licht", "en": "minor"},
    "severity.serious": {"nl": "ernstig", "en": "serious"},
    "severity.severe": {"nl": "zeer ernstig", "en": "severe"},
    # alerts
    "alert.acute-score": {
        "nl": "Acuut gevaar: {party} geeft score {score}; direct veiligstellen",
        "en": "Acute danger: {party} scores {score}; protect at once",
    },
    "alert.acute-incident": {
        "nl": "Acuut incident op {date} sinds het laatste MDO; direct veiligstellen",
        "en": "Acute incident on {date} since the last case conference; protect at once",
    },
    "alert.reassess": {
        "nl": "Onveilig incident op {date}: veiligheid opnieuw wegen in een MDO",
        "en": "Unsafe incident on {date}: re-assess safety in a case conference",
    },
    # rule summaries
    "rule.alert.acute-score.passed": {
        "nl": "Geen score in de acute band (0-{ceiling})",
        "en": "No score in the acute band (0-{ceiling})",
    },
    "rule.alert.acute-score.failed": {
        "nl": "Score in de acute band (0-{ceiling})",
        "en": "Score in the acute band (0-{ceiling})",
    },
    "rule.alert.acute-incident.passed": {
        "nl": "Geen acuut incident sinds het laatste MDO",
        "en": "No acute incident since the last case conference",
    },
    "rule.alert.acute-incident.failed": {
        "nl": "Acuut incident sinds het laatste MDO",
        "en": "Acute incident since the last case conference",
    },
    "rule.consensus.passed": {
        "nl": "Alle betrokkenen scoren minstens {threshold}",
        "en": "All involved score at least {threshold}",
    },
    "rule.consensus.failed": {
        "nl": "Nog niet alle betrokkenen scoren minstens {threshold}",
        "en": "Not all involved score at least {threshold} yet",
    },
    "rule.agreements.passed": {
        "nl": "Veiligheidsafspraken vastgelegd in het plan",
        "en": "Safety agreements recorded in the plan",
    },
    "rule.agreements.failed": {
        "nl": "Nog geen veiligheidsafspraken in het plan",
        "en": "No safety agreements in the plan yet",
    },
    "rule.stability.passed": {
        "nl": "Geen onveilig incident in de laatste {days} dagen",
        "en": "No unsafe incident in the last {days} days",
    },
    "rule.stability.failed": {
        "nl": "Onveilig incident in de laatste {days} dagen",
        "en": "Unsafe incident in the last {days} days",
    },
    "rule.top3.passed": {
        "nl": "Hooguit {max} actieve werkdoelen, gerangschikt",
        "en": "At most {max} active work goals, ranked",
    },
    "rule.top3.failed": {
        "nl": "Top {max} van werkdoelen klopt niet",
        "en": "The top {max} of work goals is not in order",
    },
    "rule.top3.not_applicable": {"nl": "Nog geen plan", "en": "No plan yet"},
    "rule.plan-conference.passed": {
        "nl": "Plan gemaakt in een MDO met de cliënt erbij",
        "en": "Plan made in a case conference with the client present",
    },
    "rule.plan-conference.failed": {
        "nl": "Plan niet gemaakt in een MDO met de cliënt erbij",
        "en": "Plan not made in a case conference with the client present",
    },
    "rule.plan-conference.not_applicable": {"nl": "Nog geen plan", "en": "No plan yet"},
    "rule.relapse.score.passed": {
        "nl": "Alle tellende scores minstens {threshold}",
        "en": "All counting scores at least {threshold}",
    },
    "rule.relapse.score.failed": {
        "nl": "Terugval: tellende score onder {threshold}",
        "en": "Relapse: counting score below {threshold}",
    },
    "rule.relapse.incident.passed": {
        "nl": "Geen acuut incident sinds de laatste fasewissel",
        "en": "No acute incident since the last phase change",
    },
    "rule.relapse.incident.failed": {
        "nl": "Terugval: acuut incident sinds de laatste fasewissel",
        "en": "Relapse: acute incident since the last phase change",
    },
    "rule.reassess.passed": {
        "nl": "Geen onveilig incident sinds het laatste MDO",
        "en": "No unsafe incident since the last case conference",
    },
    "rule.reassess.failed": {
        "nl": "Onveilig incident sinds het laatste MDO: opnieuw wegen",
        "en": "Unsafe incident since the last case conference: re-assess",
    },
    "rule.not_applicable": {
        "nl": "Niet van toepassing in deze fase",
        "en": "Not applicable in this phase",
    },
    # missing
    "missing.no_score": {
        "nl": "{party} heeft nog niet gescoord",
        "en": "{party} has not scored yet",
    },
    "missing.stale": {
        "nl": "{party} heeft niet meer gescoord sinds {date}",
        "en": "{party} has not scored since {date}",
    },
    "missing.since": {
        "nl": "{party} heeft niet meer gescoord sinds {since}",
        "en": "{party} has not scored since {since}",
    },
    "word.incident": {"nl": "het incident van {date}", "en": "the incident of {date}"},
    "word.relapse": {"nl": "de terugval van {date}", "en": "the relapse of {date}"},
    "word.phase_start": {
        "nl": "het begin van fase {phase} op {date}",
        "en": "the start of phase {phase} on {date}",
    },
    "missing.no_rationale": {
        "nl": "score van {party} heeft geen onderbouwing",
        "en": "score by {party} has no rationale",
    },
    "missing.below": {
        "nl": "{party} scoort {score}, nodig is minstens {threshold}",
        "en": "{party} scores {score}, at least {threshold} is needed",
    },
    "missing.no_required_party": {
        "nl": "geen enkele verplichte partij in het zorgteam",
        "en": "no required party in the care team",
    },
    "missing.no_client": {
        "nl": "geen cliënt in het zorgteam",
        "en": "no client in the care team",
    },
    "missing.no_practitioner": {
        "nl": "geen eigen hulpverlener in het zorgteam",
        "en": "no own practitioner in the care team",
    },
    "missing.plan_after_relapse": {
        "nl": "het veiligheidsactieplan is niet herzien sinds de terugval van {date}",
        "en": "the safety action plan has not been revised since the relapse of {date}",
    },
    "missing.no_plan": {"nl": "geen veiligheidsactieplan", "en": "no safety action plan"},
    "missing.no_agreements": {
        "nl": "plan versie {version} heeft geen veiligheidsafspraken",
        "en": "plan version {version} has no safety agreements",
    },
    "missing.too_many_goals": {
        "nl": "{count} actieve werkdoelen, hooguit {max}",
        "en": "{count} active work goals, at most {max}",
    },
    "missing.bad_ranks": {
        "nl": "actieve werkdoelen hebben rangen {ranks}, verwacht 1..{count} elk één keer",
        "en": "active work goals have ranks {ranks}, expected 1..{count} once each",
    },
    "missing.window": {
        "nl": "laatste incident op {date}; stabiel vanaf {until}",
        "en": "last incident on {date}; stable from {until}",
    },
    "missing.client_absent": {
        "nl": "cliënt was niet bij het MDO van {date}",
        "en": "the client was not at the case conference of {date}",
    },
    "missing.conference": {
        "nl": "nieuw MDO na het incident van {date}",
        "en": "a new case conference after the incident of {date}",
    },
    # errors shown by the engine
    "blocked.advance": {
        "nl": "Overgang naar {phase} geblokkeerd",
        "en": "Transition to {phase} blocked",
    },
    "blocked.relapse": {
        "nl": "Geen terugval voorgesteld in {phase}",
        "en": "No relapse proposed in {phase}",
    },
    "blocked.close": {
        "nl": "Afsluiten kan alleen vanuit fase 3 zonder open signalen",
        "en": "Closing is only possible from phase 3 without open alerts",
    },
    # why a transition is refused, beyond the gates that block an advance
    "blocked.unjustified": {
        "nl": "De geschiedenis van de casus bevat een overgang die de regels niet toestonden",
        "en": "The history of the case holds a transition the rules did not allow",
    },
    "decision.unjustified": {
        "nl": "Overgangen in de geschiedenis die de regels niet toestonden",
        "en": "Transitions in the history the rules did not allow",
    },
    "unjustified.transition": {
        "nl": "{what} van {date} (events[{index}]) was niet toegestaan: {reasons}",
        "en": "the {what} of {date} (events[{index}]) was not allowed: {reasons}",
    },
    "word.phase_change": {"nl": "fasewissel", "en": "phase change"},
    "word.closing": {"nl": "afsluiting", "en": "closing"},
    "decision.judged_under": {
        "nl": "Besloten onder andere regels dan deze engine heeft (niet geweigerd)",
        "en": "Decided under other rules than this engine has (not refused)",
    },
    "ruleset.unknown": {
        "nl": "{what} van {date} (events[{index}]) legt niet vast onder welke regels ze is besloten: "
        "alleen de regels van de methode zijn gecontroleerd, onder het beleid van deze engine",
        "en": "the {what} of {date} (events[{index}]) records no rules it was decided under: only the "
        "method's rules were checked, under this engine's policy",
    },
    "ruleset.not_here": {
        "nl": "{what} van {date} (events[{index}]) is besloten onder plugin {plugin}, die deze engine "
        "niet (in die versie) heeft: de regels ervan zijn niet gecontroleerd",
        "en": "the {what} of {date} (events[{index}]) was decided under plugin {plugin}, which this "
        "engine does not have (in that version): its rules were not checked",
    },
    "ruleset.method": {
        "nl": "{what} van {date} (events[{index}]) is besloten onder de regels van de methode in {plugin}: "
        "gecontroleerd met die van deze versie",
        "en": "the {what} of {date} (events[{index}]) was decided under the method's rules of {plugin}: "
        "checked with those of this version",
    },
    "ruleset.added": {
        "nl": "{what} van {date} (events[{index}]) is besloten zonder plugin {plugin}: de regels ervan "
        "zijn er niet tegen gehouden",
        "en": "the {what} of {date} (events[{index}]) was decided without plugin {plugin}: its rules "
        "were not held against it",
    },
    "ruleset.policy": {
        "nl": "{what} van {date} (events[{index}]) is besloten onder een ander beleid ({fingerprint}); "
        "gecontroleerd onder {under}",
        "en": "the {what} of {date} (events[{index}]) was decided under another policy ({fingerprint}); "
        "checked under {under}",
    },
    "ruleset.policy_then": {"nl": "dat beleid", "en": "that policy"},
    "ruleset.policy_now": {
        "nl": "het beleid van deze engine (de instellingen van dat beleid zijn niet vastgelegd)",
        "en": "this engine's policy (the settings of that policy are not recorded)",
    },
    "refused.no_relapse_rule": {
        "nl": "geen regel stelde een terugval voor en er is geen reden gegeven",
        "en": "no rule proposed a relapse and no reason was given",
    },
    "refused.relapse_not_judgement": {
        "nl": "geen regel stelde een terugval voor en de fasewissel is niet vastgelegd als "
        "professioneel oordeel ({rule})",
        "en": "no rule proposed a relapse and the phase change is not recorded as a professional "
        "judgement ({rule})",
    },
    "refused.relapse_phase": {
        "nl": "een terugval gaat van fase 2 of 3 terug naar fase 1; de casus is in {phase}",
        "en": "a relapse goes from phase 2 or 3 back to phase 1; the case is in {phase}",
    },
    "refused.order": {
        "nl": "fasen lopen op volgorde: na {phase} komt {next}, niet {to}",
        "en": "phases run in order: after {phase} comes {next}, not {to}",
    },
    "refused.no_next": {
        "nl": "na {phase} komt geen fase meer",
        "en": "there is no phase after {phase}",
    },
    "refused.from_phase": {
        "nl": "de casus is in {phase}, niet in {claimed}",
        "en": "the case is in {phase}, not in {claimed}",
    },
    "refused.close_phase": {
        "nl": "de casus is in {phase}; afsluiten kan alleen vanuit fase 3",
        "en": "the case is in {phase}; a case is closed from phase 3 only",
    },
    # instruments
    "evidence.assessment": {
        "nl": "{instrument} (versie {version}) op {date}: {summary}",
        "en": "{instrument} (version {version}) on {date}: {summary}",
    },
    "alert.instrument-urgent": {
        "nl": "{instrument} van {date} is urgent (code {code}); direct veiligstellen",
        "en": "{instrument} of {date} is urgent (code {code}); protect at once",
    },
    "alert.advice": {"nl": "{instrument}: {text}", "en": "{instrument}: {text}"},
    "rule.instrument-urgent.passed": {
        "nl": "Geen urgente uitkomst van een instrument sinds het laatste MDO",
        "en": "No urgent instrument result since the last case conference",
    },
    "rule.instrument-urgent.failed": {
        "nl": "Urgente uitkomst van een instrument sinds het laatste MDO",
        "en": "Urgent instrument result since the last case conference",
    },
    "rule.instrument-advice.passed": {
        "nl": "De zorgsetting is minstens zo beschermend als geadviseerd",
        "en": "The care setting is at least as protective as advised",
    },
    "rule.instrument-advice.failed": {
        "nl": "De zorgsetting is lichter dan geadviseerd",
        "en": "The care setting is lighter than advised",
    },
    "rule.instrument-advice.later.passed": {
        "nl": "Adviezen van de instrumenten blijven gelden",
        "en": "The instruments' advice still applies",
    },
    "rule.instrument-advice.not_applicable": {
        "nl": "Nog geen instrument toegepast",
        "en": "No instrument applied yet",
    },
    "rule.risk-factors.passed": {
        "nl": "Elke risicofactor heeft een actief werkdoel",
        "en": "Every risk factor is addressed by an active work goal",
    },
    "rule.risk-factors.failed": {
        "nl": "Risicofactoren zonder actief werkdoel",
        "en": "Risk factors without an active work goal",
    },
    "rule.risk-factors.not_applicable": {
        "nl": "Nog geen risicofactoren bekend",
        "en": "No risk factors known yet",
    },
    "missing.setting": {
        "nl": "{instrument} adviseert {advised}; nu {current}",
        "en": "{instrument} advises {advised}; now {current}",
    },
    "missing.risk_factor": {
        "nl": "risicofactor '{factor}' ({source}) heeft geen actief werkdoel",
        "en": "risk factor '{factor}' ({source}) is not addressed by an active work goal",
    },
    "missing.conference_after": {
        "nl": "een MDO na de uitkomst van {date}",
        "en": "a case conference after the result of {date}",
    },
    "setting.ambulant": {"nl": "ambulante hulp (wijkteam)", "en": "ambulant care (local team)"},
    "setting.specialist_ambulant": {
        "nl": "specialistische ambulante hulp",
        "en": "specialist ambulant care",
    },
    "setting.open_shelter": {
        "nl": "open opvang (Oranje Huis)",
        "en": "an open shelter (Oranje Huis)",
    },
    "setting.secret_shelter": {
        "nl": "geheime of gesloten opvang, of een safe house",
        "en": "a secret or closed shelter, or a safe house",
    },
    "care.ambulant": {"nl": "ambulante hulp", "en": "ambulant care"},
    "care.shelter": {"nl": "opvang", "en": "a shelter stay"},
    "care.secret_shelter": {
        "nl": "opvang op een geheime locatie",
        "en": "a shelter stay at a secret location",
    },
    "safety_code.green": {"nl": "groen", "en": "green"},
    "safety_code.orange": {"nl": "oranje", "en": "orange"},
    "safety_code.red": {"nl": "rood", "en": "red"},
    "urgency.routine": {"nl": "regulier", "en": "routine"},
    "urgency.soon": {"nl": "binnen enkele dagen", "en": "soon"},
    "urgency.immediate": {"nl": "direct", "en": "immediate"},
    "person.client": {"nl": "cliënt", "en": "client"},
    "person.person_who_used_violence": {"nl": "pleger", "en": "person who used violence"},
    "person.child": {"nl": "kind", "en": "child"},
    "person.family_member": {"nl": "gezinslid", "en": "family member"},
    "person.network": {"nl": "netwerk", "en": "network"},
    "word.classification": {"nl": "{display} ({fit})", "en": "{display} ({fit})"},
    "word.none": {"nl": "-", "en": "-"},
    "result.safety_code": {"nl": "veiligheidscode", "en": "safety code"},
    "result.urgency": {"nl": "urgentie", "en": "urgency"},
    "result.advised_setting": {"nl": "geadviseerde zorgsetting", "en": "advised setting"},
    "result.classification": {"nl": "classificatie", "en": "classification"},
    "result.risk_factor": {"nl": "risicofactor", "en": "risk factor"},
    "result.advice": {"nl": "advies", "en": "advice"},
    "result.level": {"nl": "niveau", "en": "level"},
    "result.action": {"nl": "actie", "en": "action"},
    "cli.wrote": {"nl": "{path} geschreven", "en": "wrote {path}"},
    # ``ketenzorg plugins``
    "plugins.shipped": {"nl": "meegeleverd", "en": "shipped"},
    "plugins.distribution_unknown": {"nl": "distributie onbekend", "en": "distribution unknown"},
    "plugins.version_unknown": {"nl": "(versie onbekend)", "en": "(version unknown)"},
    "plugins.hooks": {"nl": "koppelpunten (hooks)", "en": "hooks"},
    "plugins.instrument": {"nl": "instrument", "en": "instrument"},
    "plugins.rules": {"nl": "regels", "en": "rules"},
    "plugins.overrides": {
        "nl": "{rule} (vervangt die van plugin {plugin})",
        "en": "{rule} (overrides plugin {plugin})",
    },
    "plugins.overridden": {"nl": "vervangen", "en": "overridden"},
    "plugins.overridden_by": {"nl": "{rule} (door plugin {plugin})", "en": "{rule} (by plugin {plugin})"},
    "plugins.conference_kind": {"nl": "overlegvorm", "en": "conference kind"},
    "plugins.setting": {"nl": "instelling", "en": "setting"},
    "plugins.default": {"nl": "standaard {value}", "en": "default {value}"},
    "plugins.range": {"nl": "{minimum} t/m {maximum}", "en": "{minimum} to {maximum}"},
    "plugins.choices": {"nl": "een van {choices}", "en": "one of {choices}"},
    "setting_type.bool": {"nl": "ja/nee", "en": "true/false"},
    "setting_type.int": {"nl": "geheel getal", "en": "whole number"},
    "setting_type.float": {"nl": "getal", "en": "number"},
    "setting_type.str": {"nl": "tekst", "en": "text"},
    # the care team (``ketenzorg team``) and the parties that block an advance
    "team.heading": {"nl": "Zorgteam van casus {case}", "en": "Care team of case {case}"},
    "team.former": {"nl": "Eerdere leden", "en": "Former members"},
    "team.since": {"nl": "sinds {date}", "en": "since {date}"},
    "team.period": {"nl": "van {start} tot {end}", "en": "from {start} to {end}"},
    "team.blocking": {
        "nl": "Partijen die de overgang tegenhouden (ketenzorg team toont het zorgteam)",
        "en": "Parties blocking the advance (ketenzorg team lists the care team)",
    },
    "role.client": {"nl": "cliënt", "en": "client"},
    "role.practitioner": {"nl": "hulpverlener", "en": "practitioner"},
    "role.chain_partner": {"nl": "ketenpartner", "en": "chain partner"},
    "role.network": {"nl": "netwerk", "en": "network"},
    "partner.veilig_thuis": {"nl": "Veilig Thuis", "en": "Veilig Thuis"},
    "partner.police": {"nl": "politie", "en": "police"},
    "partner.reclassering": {"nl": "reclassering", "en": "probation service"},
    "partner.youth_protection": {"nl": "jeugdbescherming", "en": "youth protection"},
    "partner.child_protection_board": {
        "nl": "Raad voor de Kinderbescherming",
        "en": "Child Protection Board",
    },
    "partner.ggz": {"nl": "GGZ", "en": "mental health care (GGZ)"},
    "partner.local_team": {"nl": "wijkteam", "en": "local team"},
    "partner.school": {"nl": "school", "en": "school"},
    "partner.general_practitioner": {"nl": "huisarts", "en": "general practitioner"},
    "partner.shelter": {"nl": "opvang", "en": "shelter"},
    "partner.other": {"nl": "andere partner", "en": "other partner"},
    "party_reason.no_score": {"nl": "heeft niet gescoord", "en": "has not scored"},
    "party_reason.no_rationale": {
        "nl": "laatste score zonder onderbouwing",
        "en": "latest score has no rationale",
    },
    "party_reason.stale": {"nl": "score te oud", "en": "score too old"},
    "party_reason.scored_before": {
        "nl": "scoorde voor het laatste incident of de fasewissel",
        "en": "scored before the latest incident or phase change",
    },
    "party_reason.below": {"nl": "score onder de grens", "en": "score below the threshold"},
    "party_reason.acute_score": {"nl": "score in de acute band", "en": "score in the acute band"},
    "demo.refused": {"nl": "geweigerd", "en": "refused"},
    "blocked.closed": {"nl": "De casus is al afgesloten", "en": "The case is already closed"},
    # the client's own view of who received what of the file (NEN 7513)
    "disclosure.client.heading": {
        "nl": "Wie heeft gegevens uit uw dossier ontvangen (casus {case})",
        "en": "Who received information from your file (case {case})",
    },
    "disclosure.client.none": {
        "nl": "Er zijn geen gegevens uit uw dossier gedeeld.",
        "en": "No information from your file has been shared.",
    },
    "disclosure.client.when": {"nl": "{date} om {time}", "en": "{date} at {time}"},
    "disclosure.client.organisation": {
        "nl": " (organisatiecode {code})",
        "en": " (organisation code {code})",
    },
    "disclosure.client.line": {
        "nl": "{when}: gedeeld met {recipient}, voor {purpose}. Gedeeld: {what}.",
        "en": "{when}: shared with {recipient}, for {purpose}. Shared: {what}.",
    },
    "disclosure.client.by": {"nl": "Door: {role} van {organisation}.", "en": "By: {role} of {organisation}."},
    "disclosure.recipient.internal": {"nl": "uw hulpverleners zelf", "en": "your own care organisation"},
    "disclosure.recipient.police": {"nl": "de politie", "en": "the police"},
    "disclosure.recipient.veilig-thuis": {
        "nl": "Veilig Thuis",
        "en": "Veilig Thuis (the advice and reporting centre)",
    },
    "disclosure.recipient.youth-protection": {
        "nl": "de jeugdbescherming (gecertificeerde instelling)",
        "en": "youth protection (a certified institution)",
    },
    "disclosure.recipient.raad-kinderbescherming": {
        "nl": "de Raad voor de Kinderbescherming",
        "en": "the Child Protection Board (Raad voor de Kinderbescherming)",
    },
    "disclosure.recipient.ggz": {
        "nl": "de geestelijke gezondheidszorg (GGZ)",
        "en": "mental health care (GGZ)",
    },
    "disclosure.recipient.wijkteam": {"nl": "het wijkteam", "en": "the local team (wijkteam)"},
    "disclosure.recipient.gp": {"nl": "de huisarts", "en": "the general practitioner"},
    "disclosure.recipient.school": {"nl": "de school", "en": "the school"},
    "disclosure.recipient.reclassering": {"nl": "de reclassering", "en": "the probation service"},
    "disclosure.recipient.client": {"nl": "uzelf", "en": "yourself"},
    "disclosure.recipient.network-member": {
        "nl": "iemand uit uw netwerk",
        "en": "a member of your network",
    },
    "disclosure.recipient.person-who-used-violence": {
        "nl": "de persoon die geweld gebruikte",
        "en": "the person who used violence",
    },
    "disclosure.purpose.TREAT": {"nl": "uw hulpverlening", "en": "your care"},
    "disclosure.purpose.COC": {"nl": "het afstemmen van de hulp", "en": "coordinating your care"},
    "disclosure.purpose.ETREAT": {"nl": "hulp in een noodsituatie", "en": "emergency care"},
    "disclosure.purpose.HLEGAL": {"nl": "een wettelijke taak", "en": "a legal task"},
    "disclosure.purpose.THREAT": {"nl": "het afwenden van gevaar", "en": "preventing harm"},
    "disclosure.purpose.PUBHLTH": {"nl": "de volksgezondheid", "en": "public health"},
    "disclosure.purpose.PATRQT": {"nl": "uw eigen verzoek", "en": "your own request"},
    "disclosure.purpose.FAMRQT": {"nl": "een verzoek van uw familie", "en": "a request of your family"},
    "disclosure.purpose.PWATRNY": {
        "nl": "een verzoek van uw gemachtigde",
        "en": "a request of your representative",
    },
    "disclosure.purpose.SUPNWK": {"nl": "uw steunnetwerk", "en": "your support network"},
    "disclosure.purpose.HOPERAT": {"nl": "de werking van de organisatie", "en": "running the organisation"},
    "disclosure.sent.Patient": {"nl": "persoonsgegevens", "en": "personal details"},
    "disclosure.sent.RelatedPerson": {"nl": "mensen om u heen", "en": "people around you"},
    "disclosure.sent.Practitioner": {"nl": "hulpverleners", "en": "care workers"},
    "disclosure.sent.Organization": {"nl": "organisaties", "en": "organisations"},
    "disclosure.sent.CareTeam": {"nl": "zorgteam", "en": "care team"},
    "disclosure.sent.CarePlan": {"nl": "plannen", "en": "plans"},
    "disclosure.sent.Goal": {"nl": "doelen", "en": "goals"},
    "disclosure.sent.QuestionnaireResponse": {
        "nl": "antwoorden op vragenlijsten",
        "en": "answers to questionnaires",
    },
    "disclosure.sent.RiskAssessment": {
        "nl": "uitkomsten van risicotaxaties",
        "en": "risk assessment results",
    },
    "disclosure.sent.Observation": {
        "nl": "veiligheidsscores, incidenten en fasewisselingen",
        "en": "safety scores, incidents and phase changes",
    },
    "disclosure.sent.Encounter": {"nl": "overleggen en verblijven", "en": "meetings and stays"},
    "disclosure.sent.Location": {"nl": "locaties", "en": "locations"},
}


_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


def _frozen_params(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy: a message is a value that plugins and listeners see but cannot edit."""
    if value is _NO_PARAMS:
        return value
    params = dict(value)
    for key, item in params.items():
        if type(item) is list:
            params[key] = tuple(item)
    return MappingProxyType(params)


@attrs.frozen
class Message:
    """A text to show: a catalog key and its parameters (dates, names, numbers).

    The parameters are kept as a read-only copy (lists become tuples).
    """

    key: str
    params: Mapping[str, Any] = attrs.field(default=_NO_PARAMS, converter=_frozen_params)

    def render(self, lang: Language = "en") -> str:
        return render(self, lang)

    @classmethod
    def literal(cls, *, nl: str, en: str) -> Message:
        """A text a plugin brings itself, in both languages (no catalog key needed)."""
        return cls(LITERAL, {"nl": nl, "en": en})


_ENUM_KEYS: dict[type[Enum], str] = {
    SafetyCode: "safety_code",
    Urgency: "urgency",
    AdvisedSetting: "setting",
    CareSettingKind: "care",
    PartyRole: "role",
    PartnerType: "partner",
    PersonRole: "person",
    IncidentSeverity: "severity",
}
"""The engine's enumerations a person reads, by the prefix of their keys in the catalog. A phase
has its own keys (``phase.2``) and is rendered through them where it is shown."""


def enum_label(value: Enum, lang: Language = "en") -> str:
    """An enumeration value as a person reads it in ``lang`` ("rood", not "red"); a value the
    catalog has no text for shows as its code."""
    prefix = _ENUM_KEYS.get(type(value))
    key = f"{prefix}.{value.value}" if prefix is not None else None
    if key is None or key not in _CATALOG:
        return str(value.value)
    return _CATALOG[key][lang]


def _format_value(value: Any, lang: Language) -> str:
    if isinstance(value, Message):
        return render(value, lang)
    if isinstance(value, Text):
        return value.in_language(lang)
    if isinstance(value, datetime | date):
        months = _MONTHS[lang]
        return f"{value.day} {months[value.month - 1]} {value.year}"
    if isinstance(value, Enum):
        return enum_label(value, lang)
    if isinstance(value, list | tuple):
        return ", ".join(_format_value(v, lang) for v in value)
    return str(value)


def is_known_key(key: object) -> bool:
    """Whether ``key`` is a key of the catalog (or the key of a literal text)."""
    return key == LITERAL or (isinstance(key, str) and key in _CATALOG)


def render(message: Message, lang: Language = "en") -> str:
    """Render ``message`` in ``lang`` ("nl" or "en")."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    if message.key == LITERAL:
        return str(message.params[lang])
    template = _CATALOG[message.key][lang]
    return template.format(**{k: _format_value(v, lang) for k, v in message.params.items()})
