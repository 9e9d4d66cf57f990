"""Generate realistic, contract-valid user profiles quickly and reproducibly from a seed."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import unicodedata
from decimal import Decimal

from faker import Faker

from userstream.contract import Contract, default_contract

logger = logging.getLogger(__name__)

COUNTRY = "United States"

# (city, state, 3-digit ZIP prefix of the city's main post office, main area code)
CITIES = (
    ("New York", "New York", "100", "212"),
    ("Buffalo", "New York", "142", "716"),
    ("Rochester", "New York", "146", "585"),
    ("Los Angeles", "California", "900", "213"),
    ("Long Beach", "California", "908", "562"),
    ("San Diego", "California", "921", "619"),
    ("Santa Barbara", "California", "931", "805"),
    ("Fresno", "California", "937", "559"),
    ("San Francisco", "California", "941", "415"),
    ("Oakland", "California", "946", "510"),
    ("San Jose", "California", "951", "408"),
    ("Sacramento", "California", "958", "916"),
    ("Chicago", "Illinois", "606", "312"),
    ("Springfield", "Illinois", "627", "217"),
    ("Houston", "Texas", "770", "713"),
    ("Dallas", "Texas", "752", "214"),
    ("Fort Worth", "Texas", "761", "817"),
    ("San Antonio", "Texas", "782", "210"),
    ("Austin", "Texas", "787", "512"),
    ("El Paso", "Texas", "799", "915"),
    ("Phoenix", "Arizona", "850", "602"),
    ("Tucson", "Arizona", "857", "520"),
    ("Philadelphia", "Pennsylvania", "191", "215"),
    ("Pittsburgh", "Pennsylvania", "152", "412"),
    ("Jacksonville", "Florida", "322", "904"),
    ("Orlando", "Florida", "328", "407"),
    ("Miami", "Florida", "331", "305"),
    ("Tampa", "Florida", "336", "813"),
    ("Columbus", "Ohio", "432", "614"),
    ("Toledo", "Ohio", "436", "419"),
    ("Cleveland", "Ohio", "441", "216"),
    ("Akron", "Ohio", "443", "330"),
    ("Cincinnati", "Ohio", "452", "513"),
    ("Charlotte", "North Carolina", "282", "704"),
    ("Raleigh", "North Carolina", "276", "919"),
    ("Indianapolis", "Indiana", "462", "317"),
    ("Fort Wayne", "Indiana", "468", "260"),
    ("Seattle", "Washington", "981", "206"),
    ("Tacoma", "Washington", "984", "253"),
    ("Spokane", "Washington", "992", "509"),
    ("Denver", "Colorado", "802", "303"),
    ("Colorado Springs", "Colorado", "809", "719"),
    ("Boston", "Massachusetts", "021", "617"),
    ("Nashville", "Tennessee", "372", "615"),
    ("Knoxville", "Tennessee", "379", "865"),
    ("Memphis", "Tennessee", "381", "901"),
    ("Detroit", "Michigan", "482", "313"),
    ("Ann Arbor", "Michigan", "481", "734"),
    ("Grand Rapids", "Michigan", "495", "616"),
    ("Oklahoma City", "Oklahoma", "731", "405"),
    ("Tulsa", "Oklahoma", "741", "918"),
    ("Portland", "Oregon", "972", "503"),
    ("Eugene", "Oregon", "974", "541"),
    ("Las Vegas", "Nevada", "891", "702"),
    ("Reno", "Nevada", "895", "775"),
    ("Louisville", "Kentucky", "402", "502"),
    ("Lexington", "Kentucky", "405", "859"),
    ("Baltimore", "Maryland", "212", "410"),
    ("Milwaukee", "Wisconsin", "532", "414"),
    ("Madison", "Wisconsin", "537", "608"),
    ("Albuquerque", "New Mexico", "871", "505"),
    ("Santa Fe", "New Mexico", "875", "505"),
    ("Kansas City", "Missouri", "641", "816"),
    ("St. Louis", "Missouri", "631", "314"),
    ("Atlanta", "Georgia", "303", "404"),
    ("Savannah", "Georgia", "314", "912"),
    ("Omaha", "Nebraska", "681", "402"),
    ("Lincoln", "Nebraska", "685", "402"),
    ("Minneapolis", "Minnesota", "554", "612"),
    ("St. Paul", "Minnesota", "551", "651"),
    ("Wichita", "Kansas", "672", "316"),
    ("Topeka", "Kansas", "666", "785"),
    ("New Orleans", "Louisiana", "701", "504"),
    ("Baton Rouge", "Louisiana", "708", "225"),
    ("Shreveport", "Louisiana", "711", "318"),
    ("Honolulu", "Hawaii", "968", "808"),
    ("Anchorage", "Alaska", "995", "907"),
    ("Salt Lake City", "Utah", "841", "801"),
    ("Boise", "Idaho", "837", "208"),
    ("Des Moines", "Iowa", "503", "515"),
    ("Birmingham", "Alabama", "352", "205"),
    ("Little Rock", "Arkansas", "722", "501"),
    ("Jackson", "Mississippi", "392", "601"),
    ("Charleston", "West Virginia", "253", "304"),
    ("Richmond", "Virginia", "232", "804"),
    ("Virginia Beach", "Virginia", "234", "757"),
    ("Providence", "Rhode Island", "029", "401"),
    ("Hartford", "Connecticut", "061", "860"),
    ("Newark", "New Jersey", "071", "973"),
    ("Manchester", "New Hampshire", "031", "603"),
    ("Burlington", "Vermont", "054", "802"),
    ("Portland", "Maine", "041", "207"),
    ("Wilmington", "Delaware", "198", "302"),
    ("Columbia", "South Carolina", "292", "803"),
    ("Charleston", "South Carolina", "294", "843"),
    ("Fargo", "North Dakota", "581", "701"),
    ("Sioux Falls", "South Dakota", "571", "605"),
    ("Billings", "Montana", "591", "406"),
    ("Cheyenne", "Wyoming", "820", "307"),
)

# Weights are integers so that a draw is one index into the expanded tuple.
GENDERS = (("Male", 49), ("Female", 49), ("Other", 2))
SUBSCRIPTION_STATUSES = (("Active", 3), ("Inactive", 1))
SUBSCRIPTION_TYPES = (("Basic", 60), ("Premium", 32), ("Enterprise", 8))
MARITAL_STATUSES = (("Single", 38), ("Married", 46), ("Divorced", 11), ("Widowed", 5))
CHILDREN_COUNTS = ((0, 40), (1, 20), (2, 22), (3, 11), (4, 5), (5, 2))
# Estimated shares in the US population, in tenths of a percent.
BLOOD_TYPES = (
    ("O+", 374), ("A+", 357), ("B+", 85), ("AB+", 34),
    ("O-", 66), ("A-", 63), ("B-", 15), ("AB-", 6),
)
PET_TYPES = (("Dog", 45), ("Cat", 35), ("Bird", 7), ("Fish", 8), ("Other", 5))

NATIONALITIES = (
    ("American", 850), ("Mexican", 30), ("Indian", 12), ("Filipino", 9), ("Chinese", 9),
    ("Canadian", 7), ("Vietnamese", 6), ("Salvadoran", 6), ("Cuban", 6), ("Dominican", 6),
    ("Korean", 5), ("Guatemalan", 5), ("Colombian", 5), ("British", 5), ("German", 4),
    ("Brazilian", 4), ("Jamaican", 4), ("Haitian", 4), ("Nigerian", 3), ("Polish", 3),
    ("Italian", 3), ("Irish", 3), ("Japanese", 3), ("Ukrainian", 2), ("Pakistani", 2),
    ("Peruvian", 2),
)

OCCUPATIONS = (
    "Accountant", "Actuary", "Architect", "Art Director", "Bank Teller", "Barista",
    "Bus Driver", "Carpenter", "Cashier", "Chef", "Chemist", "Civil Engineer",
    "Claims Adjuster", "Construction Manager", "Customer Service Representative",
    "Data Analyst", "Data Scientist", "Dental Hygienist", "Dentist", "Economist", "Electrician",
    "Elementary School Teacher", "Financial Analyst", "Firefighter", "Flight Attendant",
    "Graphic Designer", "Hair Stylist", "High School Teacher", "Human Resources Manager",
    "Insurance Agent", "Journalist", "Lawyer", "Librarian", "Loan Officer",
    "Logistics Coordinator", "Machinist", "Marketing Manager", "Mechanical Engineer",
    "Medical Assistant", "Nurse Practitioner", "Occupational Therapist", "Office Manager",
    "Operations Manager", "Paralegal", "Personal Trainer", "Pharmacist", "Pharmacy Technician",
    "Photographer", "Physical Therapist", "Physician", "Airline Pilot", "Plumber",
    "Police Officer", "Product Manager", "Project Manager", "Psychologist",
    "Real Estate Agent", "Registered Nurse", "Retail Sales Associate", "Sales Manager",
    "Security Guard", "Social Worker", "Software Developer", "Statistician", "Surveyor",
    "Systems Administrator", "Translator", "Truck Driver", "UX Designer", "Veterinarian",
    "Warehouse Associate", "Web Developer", "Welder",
)

MOVIES = (
    "The Godfather", "Casablanca", "Star Wars", "Jurassic Park", "Titanic",
    "The Shawshank Redemption", "Pulp Fiction", "Forrest Gump", "The Matrix", "The Dark Knight",
    "Inception", "Back to the Future", "Toy Story", "The Lion King", "Finding Nemo", "Gladiator",
    "Jaws", "E.T. the Extra-Terrestrial", "Raiders of the Lost Ark", "The Silence of the Lambs",
    "Schindler's List", "Goodfellas", "Fight Club",
    "The Lord of the Rings: The Fellowship of the Ring", "Spirited Away", "Parasite",
    "La La Land", "Black Panther", "Avengers: Endgame", "Top Gun: Maverick",
    "Everything Everywhere All at Once", "Oppenheimer", "The Princess Bride", "Groundhog Day",
    "Die Hard", "Ghostbusters", "Rocky", "Alien", "Get Out", "Mad Max: Fury Road",
    "The Wizard of Oz", "Singin' in the Rain", "Frozen", "Up", "WALL-E", "Coco",
    "Interstellar", "The Social Network", "Dune", "Amadeus",
)

FOODS = (
    "Pizza", "Tacos", "Sushi", "Cheeseburger", "Fried chicken", "Pad thai", "Lasagna", "Ramen",
    "Barbecue ribs", "Caesar salad", "Spaghetti carbonara", "Chicken tikka masala", "Pho",
    "Burritos", "Mac and cheese", "Clam chowder", "Buffalo wings", "Pancakes", "Steak",
    "Lobster roll", "Gumbo", "Enchiladas", "Dim sum", "Falafel", "Bibimbap", "Poke bowl",
    "Chili", "Meatloaf", "Grilled salmon", "Shrimp and grits",
)

MUSIC_GENRES = (
    "Pop", "Rock", "Hip hop", "R&B", "Country", "Jazz", "Blues", "Classical", "Electronic",
    "Reggae", "Latin", "Metal", "Punk", "Folk", "Indie", "Soul", "Funk", "Gospel", "K-pop",
    "Alternative", "Reggaeton", "Bluegrass", "House", "Techno", "Opera",
)

SPORTS = (
    "Basketball", "American football", "Baseball", "Soccer", "Ice hockey", "Tennis", "Golf",
    "Volleyball", "Swimming", "Running", "Cycling", "Boxing", "Mixed martial arts", "Wrestling",
    "Skiing", "Snowboarding", "Surfing", "Softball", "Lacrosse", "Pickleball", "Bowling",
    "Track and field", "Gymnastics", "Rock climbing", "Table tennis", "Badminton", "Rugby",
    "Figure skating", "Auto racing", "Cricket",
)

HOBBIES = (
    "Reading", "Gardening", "Cooking", "Baking", "Hiking", "Photography", "Painting", "Drawing",
    "Knitting", "Woodworking", "Fishing", "Camping", "Playing guitar", "Playing piano",
    "Video games", "Board games", "Chess", "Yoga", "Bird watching", "Traveling", "Writing",
    "Collecting vinyl records", "Pottery", "Running marathons", "Home brewing", "Scrapbooking",
    "Sewing", "Dancing", "Singing in a choir", "Volunteering", "Genealogy", "Astronomy",
    "Kayaking", "Model building", "Stamp collecting", "Crossword puzzles", "Calligraphy",
)

COLORS = (
    "Red", "Blue", "Green", "Yellow", "Orange", "Purple", "Pink", "Black", "White", "Gray",
    "Brown", "Teal", "Navy", "Maroon", "Turquoise", "Lavender", "Gold", "Silver", "Beige",
    "Coral", "Magenta", "Olive", "Burgundy", "Sky blue", "Mint green", "Charcoal", "Cyan",
    "Indigo", "Peach", "Emerald",
)

MEDICAL_CONDITIONS = (
    "Asthma", "Type 1 diabetes", "Type 2 diabetes", "Hypertension", "High cholesterol",
    "Migraine", "Hypothyroidism", "Eczema", "Psoriasis", "Osteoarthritis",
    "Rheumatoid arthritis", "Depression", "Generalized anxiety disorder", "GERD", "Sleep apnea",
    "Celiac disease", "Chronic back pain", "Epilepsy", "Atrial fibrillation", "COPD",
)

ALLERGIES = (
    "Peanuts", "Tree nuts", "Shellfish", "Fish", "Eggs", "Milk", "Soy", "Wheat", "Sesame",
    "Penicillin", "Sulfa drugs", "Aspirin", "Latex", "Pollen", "Dust mites", "Mold",
    "Cat dander", "Dog dander", "Bee stings",
)

PET_NAMES = (
    "Bella", "Max", "Luna", "Charlie", "Lucy", "Cooper", "Daisy", "Milo", "Bailey", "Oliver",
    "Sadie", "Rocky", "Molly", "Buddy", "Coco", "Teddy", "Lola", "Bear", "Zoe", "Duke", "Leo",
    "Nala", "Simba", "Loki", "Chloe", "Tucker", "Penny", "Oscar", "Rosie", "Winston", "Pepper",
    "Ginger", "Shadow", "Mochi", "Biscuit", "Nemo", "Kiwi", "Sunny", "Peanut", "Bubbles",
)

# (pet type, breeds or species of that type, oldest age in years that the generator uses)
PET_BREEDS = (
    ("Dog", (
        "Labrador Retriever", "Golden Retriever", "German Shepherd", "French Bulldog",
        "Bulldog", "Poodle", "Beagle", "Rottweiler", "Dachshund", "German Shorthaired Pointer",
        "Pembroke Welsh Corgi", "Australian Shepherd", "Yorkshire Terrier", "Boxer",
        "Cavalier King Charles Spaniel", "Siberian Husky", "Shih Tzu", "Great Dane",
        "Border Collie", "Chihuahua", "Pug", "Boston Terrier", "Mixed breed",
    ), 16),
    ("Cat", (
        "Domestic Shorthair", "Domestic Longhair", "Maine Coon", "Ragdoll", "Siamese", "Persian",
        "Bengal", "British Shorthair", "Sphynx", "Abyssinian", "Scottish Fold", "Russian Blue",
        "Norwegian Forest Cat", "Birman",
    ), 20),
    ("Bird", (
        "Budgerigar", "Cockatiel", "Lovebird", "African Grey Parrot", "Canary", "Zebra Finch",
        "Sun Conure", "Green-cheeked Conure", "Cockatoo", "Macaw", "Parrotlet",
    ), 25),
    ("Fish", (
        "Goldfish", "Betta", "Guppy", "Neon Tetra", "Angelfish", "Molly", "Platy", "Koi",
        "Zebra Danio", "Oscar", "Corydoras Catfish", "Clownfish",
    ), 10),
    ("Other", (
        "Holland Lop Rabbit", "Syrian Hamster", "Guinea Pig", "Ferret", "Bearded Dragon",
        "Leopard Gecko", "Ball Python", "Corn Snake", "Red-eared Slider Turtle", "Chinchilla",
        "Hedgehog", "Fancy Rat",
    ), 12),
)

# (make, model, a model year since which the model has been sold in the US every year)
VEHICLES = (
    ("Toyota", "Camry", 1983), ("Toyota", "Corolla", 1968), ("Toyota", "RAV4", 1996),
    ("Toyota", "Tacoma", 1995), ("Toyota", "Highlander", 2001), ("Toyota", "Tundra", 2000),
    ("Toyota", "4Runner", 1984), ("Toyota", "Sienna", 1998), ("Toyota", "Prius", 2001),
    ("Honda", "Civic", 1973), ("Honda", "Accord", 1976), ("Honda", "CR-V", 1997),
    ("Honda", "Pilot", 2003), ("Honda", "Odyssey", 1995), ("Honda", "HR-V", 2016),
    ("Ford", "F-150", 1975), ("Ford", "Mustang", 1965), ("Ford", "Explorer", 1991),
    ("Ford", "Expedition", 1997), ("Ford", "Bronco", 2021), ("Ford", "Ranger", 2019),
    ("Ford", "Maverick", 2022), ("Chevrolet", "Silverado 1500", 1999),
    ("Chevrolet", "Equinox", 2005), ("Chevrolet", "Tahoe", 1995), ("Chevrolet", "Suburban", 1992),
    ("Chevrolet", "Traverse", 2009), ("Chevrolet", "Colorado", 2015),
    ("Chevrolet", "Corvette", 1984), ("Nissan", "Altima", 1993), ("Nissan", "Rogue", 2008),
    ("Nissan", "Sentra", 1982), ("Nissan", "Frontier", 1998), ("Nissan", "Pathfinder", 1987),
    ("Nissan", "Murano", 2003), ("Jeep", "Wrangler", 1997), ("Jeep", "Grand Cherokee", 1993),
    ("Jeep", "Gladiator", 2020), ("Jeep", "Compass", 2007), ("Subaru", "Outback", 1995),
    ("Subaru", "Forester", 1998), ("Subaru", "Crosstrek", 2013), ("Subaru", "Impreza", 1993),
    ("Hyundai", "Elantra", 1992), ("Hyundai", "Sonata", 1989), ("Hyundai", "Tucson", 2005),
    ("Hyundai", "Santa Fe", 2001), ("Hyundai", "Palisade", 2020), ("Kia", "Sorento", 2003),
    ("Kia", "Sportage", 2005), ("Kia", "Telluride", 2020),
    ("Volkswagen", "Jetta", 1980), ("Volkswagen", "Tiguan", 2009), ("Volkswagen", "Atlas", 2018),
    ("BMW", "3 Series", 1990), ("BMW", "5 Series", 1990), ("BMW", "X3", 2004),
    ("BMW", "X5", 2000), ("Mercedes-Benz", "C-Class", 1994), ("Mercedes-Benz", "E-Class", 1994),
    ("Mercedes-Benz", "GLC", 2016), ("Tesla", "Model S", 2012), ("Tesla", "Model 3", 2017),
    ("Tesla", "Model X", 2016), ("Tesla", "Model Y", 2020), ("Mazda", "CX-5", 2013),
    ("Mazda", "Mazda3", 2004), ("Mazda", "MX-5 Miata", 1990), ("Ram", "1500", 2011),
    ("GMC", "Sierra 1500", 1999), ("GMC", "Yukon", 1992), ("Lexus", "RX", 1999),
    ("Lexus", "ES", 1990), ("Audi", "Q5", 2009),
)

# (insurer, prefix of its policy numbers as this generator writes them)
INSURERS = (
    ("State Farm", "SF"), ("GEICO", "GC"), ("Progressive", "PG"), ("Allstate", "AS"),
    ("USAA", "US"), ("Liberty Mutual", "LM"), ("Farmers Insurance", "FI"), ("Nationwide", "NW"),
    ("Travelers", "TR"), ("American Family Insurance", "AF"), ("Erie Insurance", "ER"),
    ("The Hartford", "HF"), ("Aetna", "AE"), ("Cigna", "CI"), ("UnitedHealthcare", "UH"),
    ("Humana", "HU"), ("Kaiser Permanente", "KP"), ("Blue Cross Blue Shield", "BC"),
    ("MetLife", "ML"), ("Prudential", "PR"),
)

UNIT_KINDS = ("Apt.", "Suite", "Unit", "#")
WEBSITE_TLDS = ("com", "net", "org", "dev", "me", "io")
AVATAR_BASE_URL = "https://cdn.userstream.example/avatars"

PET_SHARE = 0.62
VEHICLE_SHARE = 0.8
MEDICAL_CONDITIONS_SHARE = 0.35
ALLERGIES_SHARE = 0.3
MIN_AGE = 18
MAX_AGE = 90
# Updates start once this many users exist, so that early updates do not all hit user 1.
FIRST_USERS_BEFORE_UPDATES = 10
# Profiles remembered for updates. Older users drop out so that memory stays bounded.
REMEMBERED_PROFILES = 5000
# Rough estimates of the mean and standard deviation of US FICO scores.
CREDIT_SCORE_MEAN = 715
CREDIT_SCORE_SPREAD = 80

_PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_DIGITS1 = tuple(str(number) for number in range(10))
_DIGITS2 = tuple(f"{number:02d}" for number in range(100))
_DIGITS3 = tuple(f"{number:03d}" for number in range(1000))
_DIGITS4 = tuple(f"{number:04d}" for number in range(10000))
# NANP exchange codes start with 2-9, and N11 codes (211, 911, ...) are service numbers.
_EXCHANGES = tuple(str(number) for number in range(200, 1000) if number % 100 != 11)
# SSN area numbers 001-899 except 666 are issued, and group 00 and serial 0000 are not.
_SSN_AREAS = tuple(_DIGITS3[number] for number in range(1, 900) if number != 666)
_AREA_CODES = tuple(row[3] for row in CITIES)
# Each city's ZIP codes: its 3-digit prefix followed by 01 to 99.
_ZIP_CODES = tuple(tuple(prefix + _DIGITS2[number] for number in range(1, 100))
                   for _, _, prefix, _ in CITIES)
_PLATE_TRIGRAMS = tuple(a + b + c for a in _PLATE_LETTERS for b in _PLATE_LETTERS
                        for c in _PLATE_LETTERS)
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_FIRST_REGISTRATION_FALLBACK = "1990-01-01"
_SECONDS_PER_DAY = 86_400
_CENT = Decimal("0.01")
# The generator lets a person register 6575 days (18 years) after birth.
_DAYS_UNTIL_ADULT = 6575


def _expand(weighted: tuple) -> tuple:
    """Repeat each value by its integer weight, so that a uniform index draws by weight."""
    return tuple(value for value, weight in weighted for _ in range(weight))


_GENDER_DRAW = _expand(GENDERS)
_STATUS_DRAW = _expand(SUBSCRIPTION_STATUSES)
_TYPE_DRAW = _expand(SUBSCRIPTION_TYPES)
_MARITAL_DRAW = _expand(MARITAL_STATUSES)
_CHILDREN_DRAW = _expand(CHILDREN_COUNTS)
_BLOOD_DRAW = _expand(BLOOD_TYPES)
_PET_TYPE_DRAW = _expand(PET_TYPES)
_NATIONALITY_DRAW = _expand(NATIONALITIES)
_PET_DETAILS = {pet_type: (breeds, oldest) for pet_type, breeds, oldest in PET_BREEDS}
_NO_PET = dict.fromkeys(("pet_name", "pet_type", "pet_breed", "pet_age"))
_NO_VEHICLE = dict.fromkeys(("vehicle_make", "vehicle_model", "vehicle_year",
                             "license_plate_number"))


def ascii_fold(text: str) -> str:
    """Return the lower-case ASCII letters and digits of text, with accents dropped."""
    decomposed = unicodedata.normalize("NFKD", text).lower()
    return "".join(character for character in decomposed if character in _ASCII_ALNUM)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _table_values() -> dict[str, tuple]:
    """Map each contract field to every value that the generator's tables can give it."""
    return {
        "city": tuple(row[0] for row in CITIES),
        "state": tuple(row[1] for row in CITIES),
        "country": (COUNTRY,),
        "gender": tuple(value for value, _ in GENDERS),
        "nationality": tuple(value for value, _ in NATIONALITIES),
        "occupation": OCCUPATIONS,
        "subscription_status": tuple(value for value, _ in SUBSCRIPTION_STATUSES),
        "subscription_type": tuple(value for value, _ in SUBSCRIPTION_TYPES),
        "marital_status": tuple(value for value, _ in MARITAL_STATUSES),
        "blood_type": tuple(value for value, _ in BLOOD_TYPES),
        "favorite_color": COLORS,
        "favorite_food": FOODS,
        "favorite_movie": MOVIES,
        "favorite_music_genre": MUSIC_GENRES,
        "favorite_sport": SPORTS,
        "hobby": HOBBIES,
        "pet_name": PET_NAMES,
        "pet_type": tuple(value for value, _ in PET_TYPES),
        "pet_breed": tuple(breed for _, breeds, _ in PET_BREEDS for breed in breeds),
        "vehicle_make": tuple(row[0] for row in VEHICLES),
        "vehicle_model": tuple(row[1] for row in VEHICLES),
        "insurance_provider": tuple(row[0] for row in INSURERS),
    }


def check_tables(contract: Contract) -> None:
    """Raise ValueError if a built-in table gives a value that the contract does not allow.

    This catches a contract change (a renamed enum symbol, a shorter maxLength) when the
    generator is built rather than when the pipeline rejects its messages.
    """
    for name, values in _table_values().items():
        spec = contract.field(name)
        if spec.kind == "enum" and set(values) != set(spec.symbols):
            raise ValueError(
                f"the generator's {name} values {sorted(set(values))} differ from the "
                f"contract's symbols {list(spec.symbols)}, so update producer/generator.py"
            )
        too_long = [value for value in values if spec.max_length and len(value) > spec.max_length]
        if too_long:
            raise ValueError(
                f"the generator's {name} values {too_long} exceed the contract's maxLength "
                f"{spec.max_length}, so shorten them in producer/generator.py"
            )


def _name_pool(make_name, count: int, max_length: int) -> tuple[tuple[str, str], ...]:
    """Call make_name count times and keep (name, ASCII-folded name) pairs that fit."""
    pool = []
    for _ in range(count):
        name = make_name().strip()
        folded = ascii_fold(name)
        if folded and len(name) <= max_length:
            pool.append((name, folded))
    if not pool:
        raise ValueError(f"{make_name.__name__} gave no name of at most {max_length} characters")
    return tuple(pool)


def _text_pool(make_text, count: int, max_length: int) -> tuple[str, ...]:
    """Call make_text count times and keep the one-line values of at most max_length."""
    pool = []
    for _ in range(count):
        text = " ".join(make_text().split())
        if 0 < len(text) <= max_length:
            pool.append(text)
    if not pool:
        raise ValueError(f"{make_text.__name__} gave no value of at most {max_length} characters")
    return tuple(pool)


def _validate_settings(update_share: float, pool_size: int, first_user_id: int, top: int) -> None:
    if not (isinstance(update_share, (int, float)) and 0.0 <= update_share <= 1.0):
        raise ValueError(f"update_share must be a number from 0 to 1, got {update_share!r}")
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
        raise ValueError(f"pool_size must be a positive integer, got {pool_size!r}")
    if isinstance(first_user_id, bool) or not isinstance(first_user_id, int):
        raise ValueError(f"first_user_id must be an integer, got {first_user_id!r}")
    if not 1 <= first_user_id <= top:
        raise ValueError(f"first_user_id must be from 1 to {top}, got {first_user_id}")


class ProfileGenerator:
    """Stream of user profiles that fit the contract, as dicts ready for the Avro serializer.

    The constructor fills pools of names, streets, companies and domains with Faker, which
    is slow per call. Every profile is then drawn from those pools and the module's tables
    with one random.Random, so the same arguments give the same sequence of profiles.
    Without a seed, the generator draws one and stores it in `seed`.

    New users get consecutive user_ids from first_user_id. Once FIRST_USERS_BEFORE_UPDATES
    users exist, a share update_share of the profiles are newer versions of a remembered
    user: a later last_login and sometimes a new subscription, balance, credit score or
    address. At most REMEMBERED_PROFILES users are remembered. Once that many exist, each
    new user replaces a random remembered one, so older users gradually stop getting updates.

    `now` is the generator's clock and must be timezone-aware. No date or time is after
    it. It defaults to midnight UTC of the current day, so that generators built on the
    same day with the same seed agree.
    """

    def __init__(
        self,
        seed: int | None = None,
        update_share: float = 0.1,
        pool_size: int = 2000,
        first_user_id: int = 1,
        *,
        now: dt.datetime | None = None,
    ):
        contract = default_contract()
        self._top_user_id = contract.field("user_id").maximum
        _validate_settings(update_share, pool_size, first_user_id, self._top_user_id)
        check_tables(contract)
        started = time.perf_counter()
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self.update_share = float(update_share)
        self._rng = random.Random(self.seed)
        self._random = self._rng.random
        # Indexes and whole numbers below n are drawn as getrandbits(30) % n, one call with no
        # float on an int of one CPython digit. The modulo bias makes a value at most n / 2**30
        # more likely than another, which is 0.0025 % for the ~26,600 possible birth days.
        self._bits = self._rng.getrandbits
        self._next_user_id = first_user_id
        self._remembered: list[dict] = []
        self.new_count = 0
        self.update_count = 0
        self._read_limits(contract)
        self._set_clock(now, contract)
        self._build_pools(pool_size, contract)
        logger.debug("built profile pools of %d values in %.2f s (seed %d)",
                     pool_size, time.perf_counter() - started, self.seed)

    def next_profile(self) -> dict:
        """Return the next profile: a new user, or a newer version of a remembered one."""
        enough_users = len(self._remembered) >= FIRST_USERS_BEFORE_UPDATES
        if enough_users and self._random() < self.update_share:
            return self._updated_profile()
        return self._new_profile()

    def batch(self, count: int) -> list[dict]:
        """Return the next count profiles."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        next_profile = self.next_profile
        return [next_profile() for _ in range(count)]

    def _read_limits(self, contract: Contract) -> None:
        credit = contract.field("credit_score")
        self._min_credit, self._max_credit = credit.minimum, credit.maximum
        balance = contract.field("account_balance")
        # The largest magnitude that fits DECIMAL(precision, scale), in hundredths.
        self._max_balance_cents = 10 ** balance.precision - 1
        if balance.scale != 2:
            raise ValueError(f"account_balance has scale {balance.scale}, but the generator "
                             "writes amounts in cents and needs scale 2")

    def _set_clock(self, now: dt.datetime | None, contract: Contract) -> None:
        if now is None:
            now = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0)
        elif now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
        now = now.astimezone(dt.timezone.utc).replace(microsecond=0)
        today = now.date()
        first = contract.field("registration_date").minimum or _FIRST_REGISTRATION_FALLBACK
        self._first_registration = dt.date.fromisoformat(first).toordinal()
        if today.toordinal() <= self._first_registration:
            raise ValueError(f"now {now.isoformat()} is not after the first registration date "
                             f"{first} that the contract allows")
        self._now = now
        self._now_timestamp = int(now.timestamp())
        self._today = today.toordinal()
        self._this_year = today.year
        self._seconds_into_today = now.hour * 3600 + now.minute * 60 + now.second
        self._youngest_birth = _years_before(today, MIN_AGE).toordinal()
        self._oldest_birth = _years_before(today, MAX_AGE + 1).toordinal() + 1
        self._birth_days = self._youngest_birth - self._oldest_birth + 1
        # Every day from the oldest birth to today, indexed by ordinal - _oldest_birth, so
        # that profiles share date objects instead of each allocating its own.
        self._dates = tuple(map(dt.date.fromordinal, range(self._oldest_birth, self._today + 1)))

    def _build_pools(self, size: int, contract: Contract) -> None:
        fake = Faker("en_US", use_weighting=False)
        fake.seed_instance(self.seed)
        name_length = contract.field("first_name").max_length
        self._male_names = _name_pool(fake.first_name_male, size, name_length)
        self._female_names = _name_pool(fake.first_name_female, size, name_length)
        self._first_names = self._male_names + self._female_names
        self._last_names = _name_pool(fake.last_name, size, contract.field("last_name").max_length)
        # Leave room in the address for the building number and the unit.
        street_length = contract.field("address").max_length - 20
        self._streets = _text_pool(fake.street_name, size, street_length)
        self._companies = _text_pool(fake.company, size, contract.field("company_name").max_length)
        domains = _text_pool(fake.domain_name, size, 60)
        self._company_websites = tuple(f"https://www.{domain}" for domain in domains)
        # en_US has only a few free email domains, so a few dozen draws find them all.
        self._email_domains = tuple(sorted({fake.free_email_domain() for _ in range(60)}))
        self._credit_scores = tuple(self._credit_score() for _ in range(size))

    def _credit_score(self) -> int:
        score = round(self._rng.gauss(CREDIT_SCORE_MEAN, CREDIT_SCORE_SPREAD))
        return min(self._max_credit, max(self._min_credit, score))

    def _issue_user_id(self) -> int:
        user_id = self._next_user_id
        if user_id > self._top_user_id:
            raise OverflowError(f"all user_ids up to {self._top_user_id} are issued, so "
                                "start a generator with a lower first_user_id")
        self._next_user_id = user_id + 1
        return user_id

    def _new_profile(self) -> dict:
        bits = self._bits
        gender = _GENDER_DRAW[bits(30) % len(_GENDER_DRAW)]
        names = self._male_names if gender == "Male" else self._female_names
        if gender == "Other":
            names = self._first_names
        first = names[bits(30) % len(names)]
        last = self._last_names[bits(30) % len(self._last_names)]
        profile = self._person(self._issue_user_id(), gender, first, last)
        self._add_work(profile, first[1], last[1])
        self._add_account(profile)
        self._add_documents(profile, last[0])
        self._add_health_and_tastes(profile)
        self._add_pet(profile)
        self._add_vehicle(profile)
        self._add_insurance(profile)
        self._remember(profile)
        self.new_count += 1
        return profile

    def _person(self, user_id: int, gender: str, first: tuple, last: tuple) -> dict:
        bits = self._bits
        city_index = bits(30) % len(CITIES)
        city = CITIES[city_index]
        born = self._dates[bits(30) % self._birth_days]
        return {
            "user_id": user_id,
            "first_name": first[0],
            "last_name": last[0],
            "email": self._email(first[1], last[1], born.year),
            "phone_number": self._phone(city[3]),
            "address": self._street_address(),
            "city": city[0],
            "state": city[1],
            "country": COUNTRY,
            "zip_code": _ZIP_CODES[city_index][bits(30) % 99],
            "date_of_birth": born,
            "gender": gender,
        }

    def _email(self, first: str, last: str, birth_year: int) -> str:
        bits = self._bits
        domain = self._email_domains[bits(30) % len(self._email_domains)]
        shape = bits(30) % 5
        if shape == 0:
            local = f"{first}.{last}"
        elif shape == 1:
            local = f"{first}.{last}{1 + bits(30) % 99}"
        elif shape == 2:
            local = f"{first}{last}{_DIGITS2[birth_year % 100]}"
        elif shape == 3:
            local = f"{first[0]}{last}{1 + bits(30) % 999}"
        else:
            local = f"{first}_{last}"
        return f"{local}@{domain}"

    def _phone(self, area_code: str) -> str:
        bits = self._bits
        exchange = _EXCHANGES[bits(30) % len(_EXCHANGES)]
        line = _DIGITS4[bits(30) % 10000]
        shape = bits(30) % 6
        if shape == 0:
            return f"({area_code}) {exchange}-{line}"
        if shape == 1:
            return f"{area_code}-{exchange}-{line}"
        if shape == 2:
            return f"+1-{area_code}-{exchange}-{line}"
        if shape == 3:
            return f"{area_code}.{exchange}.{line}"
        if shape == 4:
            return f"+1 {area_code} {exchange} {line}"
        return f"{area_code}-{exchange}-{line}x{100 + bits(30) % 9900}"

    def _street_address(self) -> str:
        random = self._random
        # Squaring the draw makes low building numbers more common, as on real streets.
        number = 1 + int(random() * random() * 9999)
        street = self._streets[self._bits(30) % len(self._streets)]
        if random() < 0.25:
            unit = UNIT_KINDS[self._bits(30) % len(UNIT_KINDS)]
            return f"{number} {street} {unit} {1 + self._bits(30) % 999}"
        return f"{number} {street}"

    def _add_work(self, profile: dict, first: str, last: str) -> None:
        bits = self._bits
        profile["nationality"] = _NATIONALITY_DRAW[bits(30) % len(_NATIONALITY_DRAW)]
        profile["occupation"] = OCCUPATIONS[bits(30) % len(OCCUPATIONS)]
        profile["company_name"] = self._companies[bits(30) % len(self._companies)]
        if self._random() < 0.5:
            profile["website"] = self._company_websites[bits(30) % len(self._company_websites)]
        else:
            tld = WEBSITE_TLDS[bits(30) % len(WEBSITE_TLDS)]
            profile["website"] = f"https://{first}{last}.{tld}"

    def _add_account(self, profile: dict) -> None:
        bits = self._bits
        registered = self._registration_day(profile["date_of_birth"].toordinal())
        profile["account_balance"] = self._balance()
        profile["credit_score"] = self._credit_scores[bits(30) % len(self._credit_scores)]
        profile["registration_date"] = self._dates[registered - self._oldest_birth]
        profile["last_login"] = self._login_since(registered)
        profile["subscription_status"] = _STATUS_DRAW[bits(30) % len(_STATUS_DRAW)]
        profile["subscription_type"] = _TYPE_DRAW[bits(30) % len(_TYPE_DRAW)]
        profile["profile_picture_url"] = (
            f"{AVATAR_BASE_URL}/{profile['user_id']}/{bits(64):016x}.jpg"
        )

    def _registration_day(self, birth: int) -> int:
        """Draw a registration day after the 18th birthday and the contract's first date."""
        earliest = max(self._first_registration, birth + _DAYS_UNTIL_ADULT)
        # Someone who turned 18 today may register today at the earliest.
        earliest = min(earliest, self._today)
        return earliest + self._bits(30) % (self._today - earliest + 1)

    def _login_since(self, registered: int) -> dt.datetime:
        """Draw a login time between midnight of the registration day and now."""
        span = (self._today - registered) * _SECONDS_PER_DAY + self._seconds_into_today
        # Cubing the draw puts most last logins in the recent past.
        offset = int(span * self._random() ** 3)
        return dt.datetime.fromtimestamp(self._now_timestamp - offset, dt.timezone.utc)

    def _balance(self) -> Decimal:
        random = self._random
        if random() < 0.03:
            cents = -int(random() * 200_000)  # overdrawn by up to 2,000.00
        else:
            cents = int(random() ** 3 * 25_000_000)  # up to 250,000.00, mostly small
        return Decimal(cents) * _CENT

    def _add_documents(self, profile: dict, last_name: str) -> None:
        bits = self._bits
        profile["social_security_number"] = self._ssn()
        profile["passport_number"] = self._passport_number()
        profile["driver_license_number"] = self._driver_license_number()
        profile["marital_status"] = _MARITAL_DRAW[bits(30) % len(_MARITAL_DRAW)]
        profile["children_count"] = _CHILDREN_DRAW[bits(30) % len(_CHILDREN_DRAW)]
        contact_first = self._first_names[bits(30) % len(self._first_names)][0]
        if self._random() < 0.5:
            last_name = self._last_names[bits(30) % len(self._last_names)][0]
        profile["emergency_contact_name"] = f"{contact_first} {last_name}"
        area_code = _AREA_CODES[bits(30) % len(_AREA_CODES)]
        profile["emergency_contact_number"] = self._phone(area_code)

    def _ssn(self) -> str:
        bits = self._bits
        area = _SSN_AREAS[bits(30) % len(_SSN_AREAS)]
        group = _DIGITS2[1 + bits(30) % 99]
        return f"{area}-{group}-{_DIGITS4[1 + bits(30) % 9999]}"

    def _passport_number(self) -> str:
        bits = self._bits
        digits = _DIGITS4[bits(30) % 10000] + _DIGITS4[bits(30) % 10000]
        if self._random() < 0.5:
            return _PLATE_LETTERS[bits(30) % len(_PLATE_LETTERS)] + digits
        return _DIGITS1[1 + bits(30) % 9] + digits

    def _driver_license_number(self) -> str:
        bits = self._bits
        letter = _PLATE_LETTERS[bits(30) % len(_PLATE_LETTERS)]
        block = _DIGITS4[bits(30) % 10000]
        shape = bits(30) % 3
        if shape == 0:
            return f"{letter}{_DIGITS3[bits(30) % 1000]}{block}"
        if shape == 1:
            return f"{_DIGITS3[bits(30) % 1000]}{_DIGITS3[bits(30) % 1000]}{block[:3]}"
        return f"{letter}{_DIGITS3[bits(30) % 1000]}-{block}-{_DIGITS4[bits(30) % 10000]}"

    def _license_plate(self) -> str:
        bits = self._bits
        letters = _PLATE_TRIGRAMS[bits(30) % len(_PLATE_TRIGRAMS)]
        shape = bits(30) % 4
        if shape == 0:
            return f"{_DIGITS1[1 + bits(30) % 9]}{letters}{_DIGITS3[bits(30) % 1000]}"
        if shape == 1:
            return f"{letters}-{_DIGITS4[bits(30) % 10000]}"
        if shape == 2:
            return f"{letters} {_DIGITS3[bits(30) % 1000]}"
        return f"{_DIGITS3[bits(30) % 1000]}-{letters}"

    def _add_health_and_tastes(self, profile: dict) -> None:
        bits, random = self._bits, self._random
        medical = random() < MEDICAL_CONDITIONS_SHARE
        profile["medical_conditions"] = self._some_of(MEDICAL_CONDITIONS) if medical else None
        profile["blood_type"] = _BLOOD_DRAW[bits(30) % len(_BLOOD_DRAW)]
        allergic = random() < ALLERGIES_SHARE
        profile["allergies"] = self._some_of(ALLERGIES) if allergic else None
        profile["favorite_color"] = COLORS[bits(30) % len(COLORS)]
        profile["favorite_food"] = FOODS[bits(30) % len(FOODS)]
        profile["favorite_movie"] = MOVIES[bits(30) % len(MOVIES)]
        profile["favorite_music_genre"] = MUSIC_GENRES[bits(30) % len(MUSIC_GENRES)]
        profile["favorite_sport"] = SPORTS[bits(30) % len(SPORTS)]
        profile["hobby"] = HOBBIES[bits(30) % len(HOBBIES)]

    def _some_of(self, values: tuple[str, ...]) -> str:
        """Return one value, or two different ones joined by a comma."""
        bits = self._bits
        first = bits(30) % len(values)
        if self._random() < 0.7:
            return values[first]
        second = (first + 1 + bits(30) % (len(values) - 1)) % len(values)
        return f"{values[first]}, {values[second]}"

    def _add_pet(self, profile: dict) -> None:
        bits = self._bits
        if self._random() >= PET_SHARE:
            profile.update(_NO_PET)
            return
        pet_type = _PET_TYPE_DRAW[bits(30) % len(_PET_TYPE_DRAW)]
        breeds, oldest = _PET_DETAILS[pet_type]
        profile["pet_name"] = PET_NAMES[bits(30) % len(PET_NAMES)]
        profile["pet_type"] = pet_type
        profile["pet_breed"] = breeds[bits(30) % len(breeds)]
        profile["pet_age"] = bits(30) % (oldest + 1)

    def _add_vehicle(self, profile: dict) -> None:
        bits = self._bits
        if self._random() >= VEHICLE_SHARE:
            profile.update(_NO_VEHICLE)
            return
        make, model, first_year = VEHICLES[bits(30) % len(VEHICLES)]
        # NOTE: years run to the current year, which is wrong for a model no longer built.
        oldest = max(first_year, self._this_year - 25)
        profile["vehicle_make"] = make
        profile["vehicle_model"] = model
        profile["vehicle_year"] = oldest + bits(30) % (self._this_year - oldest + 1)
        profile["license_plate_number"] = self._license_plate()

    def _add_insurance(self, profile: dict) -> None:
        bits = self._bits
        provider, prefix = INSURERS[bits(30) % len(INSURERS)]
        number = _DIGITS3[bits(30) % 1000] + _DIGITS3[bits(30) % 1000]
        profile["insurance_provider"] = provider
        profile["insurance_policy_number"] = f"{prefix}-{number}-{_DIGITS4[bits(30) % 10000]}"

    def _remember(self, profile: dict) -> None:
        # A copy, so that a caller changing a returned profile does not change later versions.
        remembered = dict(profile)
        if len(self._remembered) < REMEMBERED_PROFILES:
            self._remembered.append(remembered)
        else:
            self._remembered[self._bits(30) % REMEMBERED_PROFILES] = remembered

    def _updated_profile(self) -> dict:
        bits, random = self._bits, self._random
        slot = bits(30) % len(self._remembered)
        profile = dict(self._remembered[slot])
        profile["last_login"] = self._later_login(profile["last_login"])
        if random() < 0.3:
            active = profile["subscription_status"] == "Active"
            profile["subscription_status"] = "Inactive" if active else "Active"
        if random() < 0.2:
            profile["subscription_type"] = _TYPE_DRAW[bits(30) % len(_TYPE_DRAW)]
        if random() < 0.7:
            profile["account_balance"] = self._shifted_balance(profile["account_balance"])
        if random() < 0.4:
            profile["credit_score"] = self._shifted_credit_score(profile["credit_score"])
        if random() < 0.05:
            self._move(profile)
        self._remembered[slot] = dict(profile)
        self.update_count += 1
        return profile

    def _later_login(self, previous: dt.datetime) -> dt.datetime:
        gap = int((self._now - previous).total_seconds())
        if gap <= 0:
            return previous  # the previous login was at `now`, and nothing may be later
        # A gap can exceed 2**30 seconds (34 years), so this draw takes a float.
        return previous + dt.timedelta(seconds=1 + int(self._random() * gap))

    def _shifted_balance(self, balance: Decimal) -> Decimal:
        cents = int(balance.scaleb(2)) + int((self._random() - 0.5) * 400_000)
        cents = max(-self._max_balance_cents, min(self._max_balance_cents, cents))
        return Decimal(cents) * _CENT

    def _shifted_credit_score(self, score: int) -> int:
        score += int((self._random() - 0.5) * 60)
        return min(self._max_credit, max(self._min_credit, score))

    def _move(self, profile: dict) -> None:
        bits = self._bits
        city_index = bits(30) % len(CITIES)
        city = CITIES[city_index]
        profile["address"] = self._street_address()
        profile["city"] = city[0]
        profile["state"] = city[1]
        profile["zip_code"] = _ZIP_CODES[city_index][bits(30) % 99]
        profile["phone_number"] = self._phone(city[3])
