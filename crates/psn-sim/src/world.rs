//! The simulated world: a title catalog and the users who play it, generated from a seed.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// PS3, PS4 and Vita trophy sets.
    Trophy,
    /// PS5 (and PC) trophy sets.
    Trophy2,
}

impl Service {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Service::Trophy => "trophy",
            Service::Trophy2 => "trophy2",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TrophyType {
    Platinum,
    Gold,
    Silver,
    Bronze,
}

impl TrophyType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TrophyType::Platinum => "platinum",
            TrophyType::Gold => "gold",
            TrophyType::Silver => "silver",
            TrophyType::Bronze => "bronze",
        }
    }

    /// Points toward the trophy level (PSN's 2020 scale).
    pub(crate) fn level_points(self) -> u64 {
        match self {
            TrophyType::Platinum => 300,
            TrophyType::Gold => 90,
            TrophyType::Silver => 30,
            TrophyType::Bronze => 15,
        }
    }

    /// Weight toward a title's progress percentage: PSN leaves the platinum out.
    pub(crate) fn progress_points(self) -> u64 {
        match self {
            TrophyType::Platinum => 0,
            other => other.level_points(),
        }
    }
}

pub(crate) struct Trophy {
    pub id: u32,
    pub group: usize,
    pub kind: TrophyType,
    pub hidden: bool,
    pub name: String,
    /// Seeds the icon URL, built when served: storing thousands of URLs slowed generation.
    pub icon_key: u64,
    /// Share of players who earned it, in tenths of a percent (1 = 0.1 %).
    pub rate_tenths: u16,
}

impl Trophy {
    pub(crate) fn detail(&self) -> String {
        match self.kind {
            TrophyType::Platinum => PLATINUM_DETAIL.0.into(),
            _ => format!("{}.", self.name),
        }
    }

    pub(crate) fn earned_rate(&self) -> String {
        format!("{}.{}", self.rate_tenths / 10, self.rate_tenths % 10)
    }

    /// PSN's rarity class: 0 ultra rare (≤ 5 %), 1 very rare (≤ 15 %), 2 rare (≤ 50 %), 3 common.
    pub(crate) fn rare(&self) -> u8 {
        match self.rate_tenths {
            0..=50 => 0,
            51..=150 => 1,
            151..=500 => 2,
            _ => 3,
        }
    }
}

pub(crate) struct Group {
    pub id: String,
    pub name: String,
    pub detail: String,
    pub icon_url: String,
}

pub(crate) struct Title {
    pub np_communication_id: String,
    pub service: Service,
    pub platform: &'static str,
    pub name: String,
    pub detail: String,
    pub icon_url: String,
    pub set_version: String,
    /// The game's product id, shown by presence while someone plays it.
    pub np_title_id: String,
    pub groups: Vec<Group>,
    pub trophies: Vec<Trophy>,
}

impl Title {
    pub(crate) fn trophy_icon_url(&self, trophy: &Trophy) -> String {
        icon_url(self.service, &self.np_communication_id, trophy.icon_key)
    }

    pub(crate) fn has_platinum(&self) -> bool {
        self.trophies.iter().any(|t| t.kind == TrophyType::Platinum)
    }

    pub(crate) fn group_index(&self, group_id: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.id == group_id)
    }
}

/// One title in one user's library.
pub(crate) struct Played {
    pub title: usize,
    /// Earned trophies by id; `None` is an offline (undated) unlock.
    pub earned: BTreeMap<u32, Option<DateTime<Utc>>>,
    pub last_updated: DateTime<Utc>,
}

pub(crate) struct Presence {
    pub visible: bool,
    /// Online while the virtual clock is before this instant.
    pub online_until: Option<DateTime<Utc>>,
    pub last_online: DateTime<Utc>,
    pub playing: Option<usize>,
}

pub(crate) struct User {
    pub account_id: String,
    pub online_id: String,
    pub former_online_id: Option<String>,
    pub private: bool,
    /// The profile's "About me" text (empty when the player wrote none).
    pub about_me: String,
    pub library: Vec<Played>,
    pub presence: Presence,
}

impl User {
    /// Whether this user goes, or went, by `online_id` (PSN compares case-insensitively).
    pub(crate) fn answers_to(&self, online_id: &str) -> bool {
        self.online_id.eq_ignore_ascii_case(online_id)
            || self
                .former_online_id
                .as_deref()
                .is_some_and(|former| former.eq_ignore_ascii_case(online_id))
    }

    pub(crate) fn played(&self, title: usize) -> Option<&Played> {
        self.library.iter().find(|p| p.title == title)
    }
}

pub(crate) struct World {
    pub titles: Vec<Title>,
    pub users: Vec<User>,
}

/// The account behind the simulator's credentials (`me`, and `fromUser` of the legacy API).
pub(crate) const OWNER: &str = "sim_owner";

const HUNTER_GENERIC_TITLES: usize = 398;
const GENERIC_TITLES: usize = 410;

/// A word or phrase of generated names: (English, French). English is what the world holds;
/// `language.rs` serves the French when asked.
pub(crate) type Words = (&'static str, &'static str);

/// (English, French masculine, French feminine): French adjectives agree with the noun.
pub(crate) const ADJECTIVES: &[(&str, &str, &str)] = &[
    ("Crimson", "Écarlate", "Écarlate"),
    ("Silent", "Silencieux", "Silencieuse"),
    ("Eternal", "Éternel", "Éternelle"),
    ("Broken", "Brisé", "Brisée"),
    ("Hidden", "Caché", "Cachée"),
    ("Golden", "Doré", "Dorée"),
    ("Frozen", "Gelé", "Gelée"),
    ("Savage", "Sauvage", "Sauvage"),
    ("Hollow", "Creux", "Creuse"),
    ("Neon", "Néon", "Néon"),
    ("Ancient", "Ancien", "Ancienne"),
    ("Fallen", "Déchu", "Déchue"),
    ("Wild", "Farouche", "Farouche"),
    ("Iron", "de Fer", "de Fer"),
    ("Shattered", "Fracassé", "Fracassée"),
    ("Lunar", "Lunaire", "Lunaire"),
    ("Burning", "Ardent", "Ardente"),
    ("Lost", "Perdu", "Perdue"),
    ("Phantom", "Fantôme", "Fantôme"),
    ("Velvet", "de Velours", "de Velours"),
    ("Radiant", "Radieux", "Radieuse"),
    ("Storm", "Orageux", "Orageuse"),
];
/// (English, French, whether the French noun is feminine).
pub(crate) const NOUNS: &[(&str, &str, bool)] = &[
    ("Horizon", "Horizon", false),
    ("Kingdom", "Royaume", false),
    ("Odyssey", "Odyssée", true),
    ("Legacy", "Héritage", false),
    ("Frontier", "Frontière", true),
    ("Citadel", "Citadelle", true),
    ("Requiem", "Requiem", false),
    ("Dynasty", "Dynastie", true),
    ("Voyage", "Voyage", false),
    ("Rebellion", "Rébellion", true),
    ("Empire", "Empire", false),
    ("Abyss", "Abysse", false),
    ("Harbor", "Port", false),
    ("Crown", "Couronne", true),
    ("Signal", "Signal", false),
    ("Outpost", "Avant-poste", false),
    ("Garden", "Jardin", false),
    ("Tempest", "Tempête", true),
    ("Circuit", "Circuit", false),
    ("Oracle", "Oracle", false),
    ("Labyrinth", "Labyrinthe", false),
];
pub(crate) const TROPHY_VERBS: &[Words] = &[
    ("Defeat", "Vaincre"),
    ("Find", "Trouver"),
    ("Collect", "Collecter"),
    ("Complete", "Terminer"),
    ("Master", "Maîtriser"),
    ("Survive", "Survivre"),
    ("Unlock", "Débloquer"),
    ("Rescue", "Sauver"),
    ("Destroy", "Détruire"),
    ("Discover", "Découvrir"),
    ("Win", "Gagner"),
    ("Escape", "Fuir"),
];
/// `Chapter` is followed by a number.
const CHAPTER: Words = ("Chapter", "Chapitre");
pub(crate) const TROPHY_OBJECTS: &[Words] = &[
    ("the Warden", "le Gardien"),
    ("every Relic", "chaque Relique"),
    CHAPTER,
    ("the Hard Way", "à la dure"),
    ("all Secrets", "tous les Secrets"),
    ("the Twins", "les Jumeaux"),
    ("a Perfect Run", "une Partie Parfaite"),
    ("the Lighthouse", "le Phare"),
    ("100 Enemies", "100 Ennemis"),
    ("the Final Gate", "la Porte Finale"),
    ("the Archive", "les Archives"),
    ("the Deep End", "le Grand Bain"),
];
/// The fixed phrases of generated names and details.
pub(crate) const PLATINUM_DETAIL: Words = ("Obtain all trophies.", "Obtenir tous les trophées.");
pub(crate) const TROPHY_SET: Words = ("Trophy Set", "Ensemble de trophées");
pub(crate) const EXPANSION: Words = ("Expansion", "Extension");
pub(crate) const ADDITIONAL: Words = ("Additional trophies for", "Trophées supplémentaires pour");
pub(crate) const PLATINUM: Words = ("Platinum", "Platine");
pub(crate) const PHRASES: &[Words] =
    &[PLATINUM_DETAIL, TROPHY_SET, EXPANSION, ADDITIONAL, PLATINUM];
const MARKDOWN_TITLES: &[&str] = &[
    "Pokémon ✨ Légendes",
    "**Bold** Moves _Deluxe_",
    "`Code` Runner ||spoiler||",
    "> Quote Quest @everyone <@123>",
];
const MARKDOWN_TROPHIES: &[&str] = &[
    "@everyone look at this",
    "<@123> was here",
    "**Nailed it**",
    "||Secret ending||",
    "`sudo make me a sandwich`",
    "> be me",
    "日本語のトロフィー",
    "Émoji 🏆 Champion",
    "_Under_score__",
    "~~Struck~~ gold",
];

struct TitleSpec {
    name: String,
    service: Service,
    platform: &'static str,
}

/// Titles of each crowd player's own: more than the 50 recent titles commands read.
pub(crate) const CROWD_TITLES: usize = 60;

/// The online ID of crowd player `n` (`sim_crowd_000`, `sim_crowd_001`, …).
pub fn crowd_online_id(n: usize) -> String {
    format!("sim_crowd_{n:03}")
}

pub(crate) fn generate(seed: u64, now: DateTime<Utc>, crowd: usize) -> World {
    let mut rng = SplitMix64::new(seed);
    let mut ids = IdAllocator::new(&mut rng);

    let mut specs: Vec<TitleSpec> = Vec::with_capacity(GENERIC_TITLES + 6);
    let names = unique_names(&mut rng, GENERIC_TITLES);
    for name in names {
        let (service, platform) = random_platform(&mut rng);
        specs.push(TitleSpec {
            name,
            service,
            platform,
        });
    }
    // One name on two platforms, as "Moving Out 2" is in the recordings.
    let astro_ps4 = specs.len();
    specs.push(TitleSpec {
        name: "ASTRO BOT".into(),
        service: Service::Trophy,
        platform: "PS4",
    });
    let astro_ps5 = specs.len();
    specs.push(TitleSpec {
        name: "ASTRO BOT".into(),
        service: Service::Trophy2,
        platform: "PS5",
    });
    let markdown_first = specs.len();
    for (i, name) in MARKDOWN_TITLES.iter().enumerate() {
        let (service, platform) = if i % 2 == 0 {
            (Service::Trophy2, "PS5")
        } else {
            (Service::Trophy, "PS4")
        };
        specs.push(TitleSpec {
            name: (*name).into(),
            service,
            platform,
        });
    }

    let titles: Vec<Title> = specs
        .into_iter()
        .enumerate()
        .map(|(index, spec)| {
            let markdown = index >= markdown_first;
            build_title(&mut rng, &mut ids, spec, markdown)
        })
        .collect();

    let mut users = Vec::new();
    let new_user = |rng: &mut SplitMix64, online_id: &str| User {
        account_id: (1_000_000_000_000_000_000 + rng.below(8_000_000_000_000_000_000)).to_string(),
        online_id: online_id.into(),
        former_online_id: None,
        private: false,
        about_me: String::new(),
        library: Vec::new(),
        presence: Presence {
            visible: true,
            online_until: None,
            last_online: now - Duration::hours(rng.range(2, 24 * 30) as i64),
            playing: None,
        },
    };

    let hunter_titles: Vec<usize> = (0..HUNTER_GENERIC_TITLES)
        .chain([astro_ps4, astro_ps5])
        .collect();
    let mut hunter = new_user(&mut rng, "sim_hunter");
    hunter.library = play_all(&mut rng, &titles, &hunter_titles, Skill::Hunter, now);
    // The hunter is online, playing their most recent PS5 game.
    hunter.presence.online_until = Some(DateTime::<Utc>::MAX_UTC);
    hunter.presence.playing = Some(astro_ps5);
    hunter.about_me = "Platinum or nothing.".into();

    let mut casual = new_user(&mut rng, "sim_casual");
    let casual_titles = [
        astro_ps5,
        0,
        1,
        HUNTER_GENERIC_TITLES,
        HUNTER_GENERIC_TITLES + 1,
    ];
    casual.library = play_all(&mut rng, &titles, &casual_titles, Skill::Casual, now);

    let mut owner = new_user(&mut rng, OWNER);
    // The owner's library mixes DLC titles of both services with a stride through the catalog.
    let mut owner_titles: Vec<usize> = titles
        .iter()
        .enumerate()
        .filter(|(i, t)| *i < HUNTER_GENERIC_TITLES && t.groups.len() > 1)
        .map(|(i, _)| i)
        .take(8)
        .collect();
    for i in (3..GENERIC_TITLES).step_by(19) {
        if !owner_titles.contains(&i) {
            owner_titles.push(i);
        }
    }
    owner.library = play_all(&mut rng, &titles, &owner_titles, Skill::Hunter, now);

    let mut private = new_user(&mut rng, "sim_private");
    private.private = true;
    private.presence.visible = false;
    let private_titles: Vec<usize> = (5..GENERIC_TITLES).step_by(23).collect();
    private.library = play_all(&mut rng, &titles, &private_titles, Skill::Casual, now);

    let mut renamed = new_user(&mut rng, "sim_newname");
    renamed.former_online_id = Some("sim_renamed".into());
    let renamed_titles: Vec<usize> = (7..GENERIC_TITLES).step_by(51).collect();
    renamed.library = play_all(&mut rng, &titles, &renamed_titles, Skill::Casual, now);

    let mut markdown = new_user(&mut rng, "sim_markdown");
    let markdown_titles: Vec<usize> = (markdown_first..titles.len()).collect();
    markdown.library = play_all(&mut rng, &titles, &markdown_titles, Skill::Hunter, now);
    markdown.about_me = "**Not bold** @everyone <@123>".into();

    let empty = new_user(&mut rng, "sim_empty");

    users.extend([hunter, casual, owner, private, renamed, markdown, empty]);
    let mut world = World { titles, users };
    add_crowd(&mut world, &mut rng, &mut ids, crowd, now);
    world
}

/// `count` more players, each with [`CROWD_TITLES`] titles nobody else plays, generated after
/// the documented world (which stays the same whatever `count` is), so a test can tell every
/// request, title-level ones included, apart by the player it is about.
fn add_crowd(
    world: &mut World,
    rng: &mut SplitMix64,
    ids: &mut IdAllocator,
    count: usize,
    now: DateTime<Utc>,
) {
    let names = unique_names(rng, ADJECTIVES.len() * NOUNS.len());
    for n in 0..count {
        let first = world.titles.len();
        for t in 0..CROWD_TITLES {
            let (service, platform) = random_platform(rng);
            let name = &names[(n * CROWD_TITLES + t) % names.len()];
            let spec = TitleSpec {
                name: format!("{name} {}", n + 2),
                service,
                platform,
            };
            world.titles.push(build_title(rng, ids, spec, false));
        }
        let picks: Vec<usize> = (first..world.titles.len()).collect();
        let library = play_all(rng, &world.titles, &picks, Skill::Hunter, now);
        world.users.push(User {
            account_id: (1_000_000_000_000_000_000 + rng.below(8_000_000_000_000_000_000))
                .to_string(),
            online_id: crowd_online_id(n),
            former_online_id: None,
            private: false,
            about_me: String::new(),
            library,
            presence: Presence {
                visible: true,
                online_until: None,
                last_online: now - Duration::hours(rng.range(2, 24 * 30) as i64),
                playing: None,
            },
        });
    }
}

/// Title names from adjective × noun pairs taken without repetition, in a seeded order.
fn unique_names(rng: &mut SplitMix64, count: usize) -> Vec<String> {
    let mut pairs: Vec<(usize, usize)> = (0..ADJECTIVES.len())
        .flat_map(|a| (0..NOUNS.len()).map(move |n| (a, n)))
        .collect();
    for i in (1..pairs.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        pairs.swap(i, j);
    }
    pairs
        .into_iter()
        .take(count)
        .map(|(a, n)| format!("{} {}", ADJECTIVES[a].0, NOUNS[n].0))
        .collect()
}

fn random_platform(rng: &mut SplitMix64) -> (Service, &'static str) {
    match rng.below(100) {
        0..=24 => (Service::Trophy2, "PS5"),
        25..=34 => (Service::Trophy2, "PS5,PSPC"),
        35..=69 => (Service::Trophy, "PS4"),
        70..=84 => (Service::Trophy, "PS3"),
        85..=94 => (Service::Trophy, "PSVITA"),
        _ => (Service::Trophy, "PS3,PSVITA"),
    }
}

struct IdAllocator {
    next_np_communication_id: u64,
    next_product: u64,
}

impl IdAllocator {
    fn new(rng: &mut SplitMix64) -> Self {
        Self {
            next_np_communication_id: rng.range(10_000, 40_000),
            next_product: rng.range(10_000, 40_000),
        }
    }
}

fn build_title(
    rng: &mut SplitMix64,
    ids: &mut IdAllocator,
    spec: TitleSpec,
    markdown: bool,
) -> Title {
    let np_communication_id = format!("NPWR{:05}_00", ids.next_np_communication_id);
    ids.next_np_communication_id += 1 + rng.below(7);
    let product_prefix = match spec.platform {
        "PS4" => "CUSA",
        "PS3" | "PS3,PSVITA" => "NPUB",
        "PSVITA" => "PCSE",
        _ => "PPSA",
    };
    let np_title_id = format!("{product_prefix}{:05}_00", ids.next_product);
    ids.next_product += 1 + rng.below(5);

    let service = spec.service;
    let id = np_communication_id.clone();
    let icon = |rng: &mut SplitMix64| icon_url(service, &id, rng.next_u64());

    let icon_url = icon(rng);
    let small = matches!(spec.platform, "PS3" | "PSVITA" | "PS3,PSVITA");
    let base_count = if markdown {
        MARKDOWN_TROPHIES.len() as u64
    } else if small {
        rng.range(8, 30)
    } else {
        rng.range(12, 50)
    };
    let with_platinum = base_count >= 12 && rng.chance(0.8);
    let dlc_groups = match (spec.service, rng.below(100)) {
        (Service::Trophy, 0..=29) | (Service::Trophy2, 0..=9) => 1 + rng.below(2) as usize,
        _ => 0,
    };

    let detail = match spec.service {
        Service::Trophy => format!("{} {}", spec.name, TROPHY_SET.0),
        Service::Trophy2 => spec.name.clone(),
    };
    let mut groups = vec![Group {
        id: "default".into(),
        name: spec.name.clone(),
        detail: detail.clone(),
        icon_url: icon_url.clone(),
    }];
    for g in 1..=dlc_groups {
        groups.push(Group {
            id: format!("{g:03}"),
            name: format!("{} {} {g}", spec.name, EXPANSION.0),
            detail: format!("{} {}", ADDITIONAL.0, spec.name),
            icon_url: icon(rng),
        });
    }

    let mut trophies = Vec::new();
    let mut next_id = 0u32;
    if with_platinum {
        trophies.push(Trophy {
            id: 0,
            group: 0,
            kind: TrophyType::Platinum,
            hidden: false,
            name: format!("{} {}", spec.name, PLATINUM.0),
            icon_key: rng.next_u64(),
            rate_tenths: rng.range(5, 150) as u16,
        });
        next_id = 1;
    }
    let mut push_trophies = |rng: &mut SplitMix64, group: usize, count: u64| {
        for n in 0..count {
            let kind = match rng.below(100) {
                0..=7 => TrophyType::Gold,
                8..=29 => TrophyType::Silver,
                _ => TrophyType::Bronze,
            };
            let name = if markdown {
                MARKDOWN_TROPHIES[n as usize % MARKDOWN_TROPHIES.len()].to_string()
            } else {
                let object = rng.pick(TROPHY_OBJECTS).0;
                let verb = rng.pick(TROPHY_VERBS).0;
                if object == CHAPTER.0 {
                    format!("{verb} {object} {}", n + 1)
                } else {
                    format!("{verb} {object}")
                }
            };
            // Squaring skews rates toward rare, as real earned rates are.
            let u = rng.unit();
            let ceiling = match kind {
                TrophyType::Gold => 400.0,
                TrophyType::Silver => 700.0,
                _ => 949.0,
            };
            let rate_tenths = (1.0 + u * u * ceiling) as u16;
            trophies.push(Trophy {
                id: next_id,
                group,
                kind,
                hidden: rng.chance(0.12),
                name,
                icon_key: rng.next_u64(),
                rate_tenths,
            });
            next_id += 1;
        }
    };
    push_trophies(rng, 0, base_count);
    for g in 1..=dlc_groups {
        let count = rng.range(3, 10);
        push_trophies(rng, g, count);
    }

    Title {
        np_communication_id,
        service: spec.service,
        platform: spec.platform,
        name: spec.name,
        detail,
        icon_url,
        set_version: format!("01.{:02}", rng.below(12)),
        np_title_id,
        groups,
        trophies,
    }
}

/// An icon URL in the style of the service's image host.
fn icon_url(service: Service, np_communication_id: &str, key: u64) -> String {
    let mut rng = SplitMix64::new(key);
    match service {
        Service::Trophy => format!(
            "https://image.api.playstation.com/trophy/np/{np_communication_id}_00{}/{}.PNG",
            rng.hex(40, true),
            rng.hex(40, true)
        ),
        Service::Trophy2 => {
            let hex = rng.hex(32, false);
            format!(
                "https://psnobj.prod.dl.playstation.net/psnobj/{np_communication_id}/{}-{}-{}-{}-{}.png",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            )
        }
    }
}

#[derive(Clone, Copy)]
enum Skill {
    Hunter,
    Casual,
}

/// Builds a library: each title gets a last-played date, earned trophies dated before it,
/// and for hunters some completed lists with their platinum.
fn play_all(
    rng: &mut SplitMix64,
    titles: &[Title],
    picks: &[usize],
    skill: Skill,
    now: DateTime<Utc>,
) -> Vec<Played> {
    picks
        .iter()
        .map(|&index| {
            let title = &titles[index];
            let last_played = now - Duration::minutes(rng.range(60 * 24, 60 * 24 * 365 * 8) as i64);
            let offline_capable = matches!(title.platform, "PS3" | "PSVITA" | "PS3,PSVITA");
            let complete = matches!(skill, Skill::Hunter) && rng.chance(0.15);
            let mut earned = BTreeMap::new();
            for trophy in &title.trophies {
                let got = match (skill, trophy.kind) {
                    (_, TrophyType::Platinum) => false,
                    (Skill::Hunter, _) if complete && trophy.group == 0 => true,
                    (Skill::Hunter, _) => rng.chance(0.25 + f64::from(trophy.rate_tenths) / 1300.0),
                    (Skill::Casual, _) => rng.chance(f64::from(trophy.rate_tenths) / 3000.0),
                };
                if got {
                    let date = if offline_capable && rng.chance(0.4) {
                        None
                    } else {
                        Some(last_played - Duration::minutes(rng.below(60 * 24 * 60) as i64))
                    };
                    earned.insert(trophy.id, date);
                }
            }
            // PSN awards the platinum with the last base-game trophy; keep generated lists consistent.
            if title.has_platinum() && base_game_complete(title, &earned) {
                let last = earned.values().flatten().max().copied();
                earned.insert(0, last);
            }
            let last_updated = earned
                .values()
                .flatten()
                .max()
                .copied()
                .unwrap_or(last_played);
            Played {
                title: index,
                earned,
                last_updated,
            }
        })
        .collect()
}

/// Whether every non-platinum trophy of the base game (group `default`) is earned.
pub(crate) fn base_game_complete(
    title: &Title,
    earned: &BTreeMap<u32, Option<DateTime<Utc>>>,
) -> bool {
    title
        .trophies
        .iter()
        .filter(|t| t.group == 0 && t.kind != TrophyType::Platinum)
        .all(|t| earned.contains_key(&t.id))
}

/// Trophy counts by type, as PSN's `definedTrophies` / `earnedTrophies`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub bronze: u32,
    pub silver: u32,
    pub gold: u32,
    pub platinum: u32,
}

impl Counts {
    pub(crate) fn add(&mut self, kind: TrophyType) {
        match kind {
            TrophyType::Bronze => self.bronze += 1,
            TrophyType::Silver => self.silver += 1,
            TrophyType::Gold => self.gold += 1,
            TrophyType::Platinum => self.platinum += 1,
        }
    }

    pub(crate) fn merge(&mut self, other: Counts) {
        self.bronze += other.bronze;
        self.silver += other.silver;
        self.gold += other.gold;
        self.platinum += other.platinum;
    }

    pub(crate) fn json(self) -> serde_json::Value {
        serde_json::json!({
            "bronze": self.bronze,
            "silver": self.silver,
            "gold": self.gold,
            "platinum": self.platinum,
        })
    }
}

/// Which trophies a summary covers: the whole title or one group.
#[derive(Clone, Copy)]
pub(crate) enum Scope {
    Title,
    Group(usize),
}

impl Scope {
    fn covers(self, trophy: &Trophy) -> bool {
        match self {
            Scope::Title => true,
            Scope::Group(group) => trophy.group == group,
        }
    }
}

pub(crate) fn defined(title: &Title, scope: Scope) -> Counts {
    let mut counts = Counts::default();
    for trophy in title.trophies.iter().filter(|t| scope.covers(t)) {
        counts.add(trophy.kind);
    }
    counts
}

pub(crate) fn earned(title: &Title, played: &Played, scope: Scope) -> Counts {
    let mut counts = Counts::default();
    for trophy in title
        .trophies
        .iter()
        .filter(|t| scope.covers(t) && played.earned.contains_key(&t.id))
    {
        counts.add(trophy.kind);
    }
    counts
}

/// PSN's progress: earned share of trophy points, platinum excluded, rounded down.
pub(crate) fn progress(title: &Title, played: &Played, scope: Scope) -> u64 {
    let (mut got, mut total) = (0, 0);
    for trophy in title.trophies.iter().filter(|t| scope.covers(t)) {
        let points = trophy.kind.progress_points();
        total += points;
        if played.earned.contains_key(&trophy.id) {
            got += points;
        }
    }
    (got * 100).checked_div(total).unwrap_or(0)
}

/// The latest dated unlock in a group, if any.
pub(crate) fn group_last_updated(
    title: &Title,
    played: &Played,
    group: usize,
) -> Option<DateTime<Utc>> {
    title
        .trophies
        .iter()
        .filter(|t| t.group == group)
        .filter_map(|t| played.earned.get(&t.id).copied().flatten())
        .max()
}

/// A user's trophy level from their points: (level, level base points, next level points, tier).
pub(crate) fn trophy_level(points: u64) -> (u64, u64, u64, u64) {
    // Points needed per level, by hundred levels (PSN's 2020 scale).
    const STEPS: [u64; 10] = [60, 90, 450, 900, 1350, 1800, 2250, 2700, 3150, 3600];
    let mut level = 1;
    let mut base = 0;
    loop {
        let step = STEPS[((level / 100) as usize).min(STEPS.len() - 1)];
        if level >= 999 || points < base + step {
            let tier = (level / 100 + 1).min(10);
            return (level, base, base + step, tier);
        }
        base += step;
        level += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title_with(counts: [(TrophyType, u32); 4]) -> Title {
        let mut trophies = Vec::new();
        for (kind, count) in counts {
            for _ in 0..count {
                trophies.push(Trophy {
                    id: trophies.len() as u32,
                    group: 0,
                    kind,
                    hidden: false,
                    name: String::new(),
                    icon_key: 0,
                    rate_tenths: 10,
                });
            }
        }
        Title {
            np_communication_id: "NPWR00001_00".into(),
            service: Service::Trophy,
            platform: "PS4",
            name: String::new(),
            detail: String::new(),
            icon_url: String::new(),
            set_version: "01.00".into(),
            np_title_id: "CUSA00001_00".into(),
            groups: Vec::new(),
            trophies,
        }
    }

    #[test]
    fn progress_weighs_points_without_the_platinum_as_psn_does() {
        // Fallout 76 as recorded: 38/53 bronze, 15/18 silver, 1/1 gold, platinum → 77 %.
        let title = title_with([
            (TrophyType::Platinum, 1),
            (TrophyType::Gold, 1),
            (TrophyType::Silver, 18),
            (TrophyType::Bronze, 53),
        ]);
        let earned_ids = [0, 1]
            .into_iter()
            .chain(2..17)
            .chain(20..58)
            .map(|id| (id, None));
        let played = Played {
            title: 0,
            earned: earned_ids.collect(),
            last_updated: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert_eq!(progress(&title, &played, Scope::Title), 77);
        let counts = earned(&title, &played, Scope::Title);
        assert_eq!(
            (counts.bronze, counts.silver, counts.gold, counts.platinum),
            (38, 15, 1, 1)
        );
    }

    #[test]
    fn trophy_levels_follow_psn_steps() {
        assert_eq!(trophy_level(0), (1, 0, 60, 1));
        assert_eq!(trophy_level(59), (1, 0, 60, 1));
        assert_eq!(trophy_level(60), (2, 60, 120, 1));
        // Level 100 is reached after 99 steps of 60; from there a level costs 90.
        assert_eq!(trophy_level(99 * 60), (100, 5940, 6030, 2));
    }

    #[test]
    fn rarity_classes_follow_the_earned_rate() {
        let mut trophy = title_with([
            (TrophyType::Bronze, 1),
            (TrophyType::Silver, 0),
            (TrophyType::Gold, 0),
            (TrophyType::Platinum, 0),
        ])
        .trophies
        .remove(0);
        for (tenths, rare, shown) in [
            (50, 0, "5.0"),
            (51, 1, "5.1"),
            (150, 1, "15.0"),
            (500, 2, "50.0"),
            (501, 3, "50.1"),
        ] {
            trophy.rate_tenths = tenths;
            assert_eq!(
                (trophy.rare(), trophy.earned_rate().as_str()),
                (rare, shown)
            );
        }
    }

    #[test]
    fn generation_is_deterministic_per_seed() {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let names = |seed| {
            generate(seed, now, 0)
                .titles
                .iter()
                .map(|t| format!("{} {} {}", t.np_communication_id, t.name, t.trophies.len()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(1), names(1));
        assert_ne!(names(1), names(2));
    }

    #[test]
    fn a_crowd_leaves_the_documented_world_as_it_is() {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let plain = generate(7, now, 0);
        let crowded = generate(7, now, 3);
        assert_eq!(crowded.users.len(), plain.users.len() + 3);
        for (a, b) in plain.users.iter().zip(&crowded.users) {
            assert_eq!((&a.account_id, &a.online_id), (&b.account_id, &b.online_id));
        }
        let ids = |w: &World| {
            w.titles
                .iter()
                .map(|t| t.np_communication_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&plain)[..], ids(&crowded)[..plain.titles.len()]);
        // Every crowd title is one player's own, and ids stay unique.
        let all = ids(&crowded);
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        for (n, user) in crowded.users[plain.users.len()..].iter().enumerate() {
            assert_eq!(user.online_id, crowd_online_id(n));
            assert_eq!(user.library.len(), CROWD_TITLES);
            for other in &crowded.users {
                if other.online_id != user.online_id {
                    assert!(user.library.iter().all(|p| other.played(p.title).is_none()));
                }
            }
        }
    }
}
