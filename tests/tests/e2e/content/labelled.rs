//! A hand-written catalog and queries that share no word with their target's title or
//! description (checked by `queries_share_no_word_with_their_target`): finding the
//! target takes meaning, not matching words.

/// (id, title, genres, description)
pub const CATALOG: &[(&str, &str, &[&str], &str)] = &[
    (
        "m01",
        "Iron Horizon",
        &["Sci-Fi"],
        "An android travels across the galaxy searching for the engineer who built it.",
    ),
    (
        "m02",
        "The Last Bakery",
        &["Comedy", "Drama"],
        "Two elderly sisters fight to keep their family bread shop open when a supermarket chain moves into town.",
    ),
    (
        "m03",
        "Deep Blue Silence",
        &["Thriller"],
        "A submarine crew loses contact with the surface and begins to suspect one of them is a saboteur.",
    ),
    (
        "m04",
        "Frost Kingdom",
        &["Fantasy", "Animation"],
        "A young princess with power over ice must save her sister and her snowy realm.",
    ),
    (
        "m05",
        "Gridiron Dreams",
        &["Sports", "Drama"],
        "A struggling high school football team finds hope under a new coach who was once a star quarterback.",
    ),
    (
        "m06",
        "The Vault Job",
        &["Crime", "Thriller"],
        "A crew of thieves plans an elaborate heist on the most secure bank in Geneva.",
    ),
    (
        "m07",
        "Whispers in the Attic",
        &["Horror"],
        "A family moves into an old house where something hidden upstairs starts calling the children at night.",
    ),
    (
        "m08",
        "Paris in Bloom",
        &["Romance"],
        "An American architect falls in love with a French florist during one spring in the capital.",
    ),
    (
        "m09",
        "Chef's Table Wars",
        &["Reality", "Food"],
        "Home cooks compete in timed challenges judged by famous restaurant owners.",
    ),
    (
        "m10",
        "Voices of the Reef",
        &["Documentary", "Nature"],
        "Shot over five years, this documentary follows coral ecosystems and the fish that depend on them.",
    ),
    (
        "m11",
        "Crown of Ashes",
        &["Drama", "History"],
        "A medieval queen holds her country together through plague, rebellion and betrayal by her own council.",
    ),
    (
        "m12",
        "Pixel Knights",
        &["Animation", "Family"],
        "Video game characters escape their console and have an adventure in the real world.",
    ),
    (
        "m13",
        "The Long Road North",
        &["Drama", "Adventure"],
        "After losing his job, a father walks from Texas to Alaska to reconnect with his estranged son.",
    ),
    (
        "m14",
        "Starlight Academy",
        &["Fantasy", "Family"],
        "Children with magical gifts attend a boarding school hidden in the mountains.",
    ),
    (
        "m15",
        "Code Red Protocol",
        &["Action", "Thriller"],
        "A hacker discovers a plot to shut down the national power grid and races against time to stop it.",
    ),
    (
        "m16",
        "Saltwater Summer",
        &["Romance", "Drama"],
        "Two teenagers meet while working at a seaside ice cream stand and fall for each other.",
    ),
    (
        "m17",
        "The Quiet Detective",
        &["Mystery", "Crime"],
        "A retired police inspector in a small English village solves murders nobody else can explain.",
    ),
    (
        "m18",
        "Red Planet Harvest",
        &["Sci-Fi", "Drama"],
        "Colonists on Mars struggle to grow food after their supply ships stop arriving.",
    ),
    (
        "m19",
        "Beats of Havana",
        &["Music", "Documentary"],
        "The story of Cuban jazz musicians who kept playing through decades of political change.",
    ),
    (
        "m20",
        "Wild Paws",
        &["Family", "Comedy"],
        "A mischievous puppy runs away from home and befriends a group of city raccoons.",
    ),
    ("m21", "Dust and Glory", &["Western"], "A lone gunslinger defends a frontier town from a ruthless cattle baron."),
    (
        "m22",
        "Mind Over Matter",
        &["Documentary", "Science"],
        "Neuroscientists explain how the brain builds memories and why we forget.",
    ),
    ("m23", "The Silent Orchestra", &["Drama", "Music"], "A deaf composer struggles to finish his final symphony."),
    (
        "m24",
        "Storm Chasers",
        &["Action", "Documentary"],
        "Meteorologists drive into tornadoes to collect data that could save lives.",
    ),
    (
        "m25",
        "Galactic Diplomats",
        &["Sci-Fi", "Comedy"],
        "Earth's clumsiest ambassador must negotiate peace with an alien empire.",
    ),
    (
        "m26",
        "Bones of the Desert",
        &["Adventure"],
        "An archaeologist races rival treasure hunters to find a lost pharaoh's tomb.",
    ),
    (
        "m27",
        "Midnight Diner Stories",
        &["Drama"],
        "Lonely customers share their secrets with the cook of a late-night Tokyo restaurant.",
    ),
    (
        "m28",
        "Zero Gravity",
        &["Sci-Fi", "Thriller"],
        "An astronaut stranded after a collision must find a way back to Earth alone.",
    ),
    ("m29", "Little Chefs", &["Kids", "Food"], "Children learn to cook simple healthy recipes with a friendly puppet."),
    (
        "m30",
        "Kingdom of Wolves",
        &["Nature", "Documentary"],
        "A year in the life of a pack of grey wolves in Yellowstone.",
    ),
    ("m31", "Ocean's Edge", &["Drama"], "A lighthouse keeper on a remote island receives mysterious letters."),
    (
        "m32",
        "The Accountant's Secret",
        &["Thriller"],
        "A bookkeeper finds evidence of fraud at the firm where he works.",
    ),
    ("m33", "Summer Camp Chaos", &["Comedy"], "Counselors try to survive a summer of pranks at a lakeside camp."),
    ("m34", "Neon City", &["Sci-Fi", "Action"], "A detective hunts rogue androids in a rain-soaked futuristic city."),
    ("m35", "Harvest Moon Festival", &["Documentary"], "Villagers in rural China prepare for the autumn celebration."),
    (
        "m36",
        "The Painter of Light",
        &["Biography"],
        "The life of a nineteenth-century landscape artist who went blind.",
    ),
    ("m37", "Speed Kings", &["Sports"], "Rival motorcycle racers push each other to the limit on the world circuit."),
    (
        "m38",
        "Grandma's Garden",
        &["Family"],
        "A girl spends the summer with her grandmother learning to grow vegetables.",
    ),
    ("m39", "The Iron Chancellor", &["History"], "A political biography of the statesman who unified Germany."),
    (
        "m40",
        "Signal Lost",
        &["Horror", "Sci-Fi"],
        "Researchers at an Antarctic station receive a transmission from something under the ice.",
    ),
    (
        "m41",
        "Street Dance Revolution",
        &["Music", "Drama"],
        "Teenagers from rival neighbourhoods form a hip hop crew for a national competition.",
    ),
    (
        "m42",
        "The Great Bake Off Mystery",
        &["Mystery", "Comedy"],
        "A baking contest turns deadly when a judge is poisoned.",
    ),
    (
        "m43",
        "Cathedral",
        &["Documentary", "History"],
        "How medieval builders raised Gothic cathedrals without modern machines.",
    ),
    ("m44", "Glacier", &["Nature"], "Time-lapse photography shows the retreat of Alpine glaciers over a decade."),
    ("m45", "Love in Lisbon", &["Romance"], "A widowed writer finds new love while restoring an old tram."),
    (
        "m46",
        "Undercover Grandpa",
        &["Comedy", "Action"],
        "A retired spy is pulled back into action to protect his grandson.",
    ),
    ("m47", "The Chess Prodigy", &["Drama"], "A young orphan rises to the top of international chess tournaments."),
    (
        "m48",
        "Rainforest Rescue",
        &["Family", "Adventure"],
        "Kids team up with a vet to save animals from illegal loggers.",
    ),
    (
        "m49",
        "Tax Season",
        &["Comedy"],
        "The employees of a small accounting office survive the busiest month of the year.",
    ),
    ("m50", "Lunar Base One", &["Sci-Fi"], "Engineers build the first permanent settlement on the Moon."),
    ("m51", "Jazz Nights", &["Music"], "Live recordings from a legendary New York club."),
    (
        "m52",
        "The Haunting of Blackwood Manor",
        &["Horror"],
        "Paranormal investigators spend a week in a notoriously cursed estate.",
    ),
    ("m53", "Pit Stop", &["Sports", "Documentary"], "Behind the scenes with the mechanics of a Formula One team."),
    (
        "m54",
        "The Fisherman's Daughter",
        &["Drama"],
        "A young woman takes over her late father's boat in a dying fishing village.",
    ),
    ("m55", "Cyber Kids", &["Animation"], "Three friends get sucked into the internet and must find their way out."),
    (
        "m56",
        "Mountain Rescue",
        &["Action", "Drama"],
        "Volunteer rescuers risk their lives on the peaks of the Scottish Highlands.",
    ),
    (
        "m57",
        "The Wedding Planner's Nightmare",
        &["Comedy", "Romance"],
        "Everything that can go wrong at a luxury wedding does.",
    ),
    (
        "m58",
        "Ancient Engineers",
        &["Documentary", "History"],
        "How the Romans built aqueducts, roads and domes that still stand.",
    ),
    ("m59", "Night Shift", &["Drama"], "Nurses in a busy city hospital face one chaotic night."),
    (
        "m60",
        "The Forgotten Island",
        &["Adventure", "Mystery"],
        "Shipwreck survivors discover they are not alone on an uncharted island.",
    ),
    (
        "m61",
        "Market Day",
        &["Documentary", "Food"],
        "Farmers and street vendors of Oaxaca sell produce at a weekly open-air market.",
    ),
    (
        "m62",
        "The Violin Maker",
        &["Drama", "Music"],
        "An old craftsman in Cremona teaches his trade to a reluctant apprentice.",
    ),
];

/// (query, the id it is looking for)
pub const QUERIES: &[(&str, &str)] = &[
    ("robot space voyage hunting down its maker", "m01"),
    ("aging siblings battling corporate grocery giant over beloved pastry store", "m02"),
    ("underwater vessel sailors fear traitor among themselves", "m03"),
    ("royal girl controls winter magic rescuing sibling", "m04"),
    ("teenage athletes, american sport, mentor formerly professional player", "m05"),
    ("gang robbery swiss financial institution scheme", "m06"),
    ("haunted home ghost lures kids after dark", "m07"),
    ("romantic affair between designer of buildings and flower seller", "m08"),
    ("amateur kitchen contest with celebrity gastronomy experts", "m09"),
    ("marine wildlife nature picture about undersea habitats", "m10"),
    ("middle ages female monarch ruling amid epidemic, uprising", "m11"),
    ("arcade heroes break out into our reality", "m12"),
    ("unemployed dad hikes thousands of miles seeking reconciliation, boy grown apart", "m13"),
    ("wizard kids study at secret alpine institution", "m14"),
    ("cyber criminal uncovers conspiracy targeting electricity network blackout", "m15"),
    ("young love, beach holiday job", "m16"),
    ("elderly sleuth countryside britain homicide puzzles", "m17"),
    ("settlers farming crops, fourth rock from sun, facing starvation", "m18"),
    ("caribbean island improvised rhythm artists history", "m19"),
    ("naughty young dog escapes, makes friends with urban critters", "m20"),
    ("cowboy protects settlement against cruel rancher in old west", "m21"),
    ("researchers studying recollection, amnesia, human cognition", "m22"),
    ("hearing-impaired musician writing last classical masterpiece", "m23"),
    ("weather scientists pursuing twisters for research", "m24"),
    ("bumbling envoy brokering truce among extraterrestrials", "m25"),
    ("egyptian king burial chamber expedition, competing relic seekers", "m26"),
    ("japanese eatery open after dark, patrons confess troubles", "m27"),
    ("spacewalker marooned in orbit trying survive return home", "m28"),
    ("youngsters preparing nutritious meals alongside muppet host", "m29"),
    ("predator canines surviving seasons national park", "m30"),
    ("mexican growers selling fruit, greens outdoors", "m61"),
    ("italian luthier training unwilling pupil", "m62"),
];

/// The words of a text as compared here: runs of letters and digits, lowercased.
pub fn words(text: &str) -> std::collections::HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Mean reciprocal rank at 10 of `ranked` (the ids each query returned, best first).
pub fn mrr_at_10(ranked: &[Vec<String>]) -> f64 {
    let total: f64 = QUERIES
        .iter()
        .zip(ranked)
        .map(|((_, target), ids)| {
            ids.iter().take(10).position(|id| id == target).map_or(0.0, |p| 1.0 / (p as f64 + 1.0))
        })
        .sum();
    total / QUERIES.len() as f64
}

#[test]
fn queries_share_no_word_with_their_target() {
    assert!(CATALOG.len() >= 60 && QUERIES.len() >= 30);
    for (query, target) in QUERIES {
        let (_, title, _, description) = CATALOG.iter().find(|c| c.0 == *target).unwrap();
        let shared: Vec<_> = words(query).intersection(&(&words(title) | &words(description))).cloned().collect();
        assert!(shared.is_empty(), "{query:?} shares {shared:?} with {target}");
    }
}
