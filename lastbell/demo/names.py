"""Names for the demo district: families from many backgrounds, as in a California district.

Each pool holds first and last names that go together in a family of that background. The
weights say how common the background is in the demo district; `spanish` is the share of those
families whose guardians read their messages in Spanish.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class NamePool:
    weight: int
    spanish: float
    first: tuple[str, ...]
    last: tuple[str, ...]


# fmt: off
POOLS: dict[str, NamePool] = {
    "hispanic": NamePool(
        34, 0.55,
        ("Sofía", "Mateo", "Valentina", "Santiago", "Camila", "Diego", "Isabella", "Alejandro",
         "Ximena", "Emiliano", "Lucía", "Joaquín", "Daniela", "Adrián", "Guadalupe", "Luis",
         "María", "José", "Ana", "Carlos", "Rosa", "Miguel", "Jimena", "Javier", "Paola",
         "Andrés", "Itzel", "Ricardo", "Marisol", "Fernando"),
        ("García", "Hernández", "López", "Martínez", "González", "Rodríguez", "Pérez",
         "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz", "Morales",
         "Reyes", "Gutiérrez", "Ortiz", "Chávez", "Ramos", "Mendoza", "Castillo", "Vargas",
         "Delgado", "Aguilar", "Navarro", "Salazar", "Ochoa", "Zamora"),
    ),
    "anglo": NamePool(
        20, 0.0,
        ("Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Charlotte", "James", "Amelia",
         "Henry", "Harper", "Benjamin", "Evelyn", "Lucas", "Abigail", "Jack", "Emily", "Wyatt",
         "Hannah", "Owen", "Sarah", "Michael", "Jennifer", "David", "Katherine", "Ryan",
         "Megan", "Thomas", "Laura", "Daniel"),
        ("Smith", "Johnson", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
         "Moore", "Martin", "Thompson", "White", "Clark", "Lewis", "Walker", "Hall", "Allen",
         "Young", "King", "Wright", "Scott", "Baker", "Nelson", "Carter", "Mitchell",
         "Campbell", "Parker", "Evans", "Collins", "O'Brien", "Sullivan", "Murphy"),
    ),
    "african_american": NamePool(
        8, 0.0,
        ("Jayden", "Aaliyah", "Malik", "Imani", "Darnell", "Zuri", "Marcus", "Nia", "Andre",
         "Kiara", "Jalen", "Destiny", "Terrence", "Jasmine", "Isaiah", "Amara", "Xavier",
         "Tiana", "DeShawn", "Ebony", "Cedric", "Keisha", "Elijah", "Simone"),
        ("Washington", "Jackson", "Robinson", "Harris", "Williams", "Brown", "Jones",
         "Freeman", "Banks", "Coleman", "Jenkins", "Brooks", "Bell", "Gaines", "Mosley",
         "Holloway", "Booker", "Dixon", "Hayes", "Tate"),
    ),
    "chinese": NamePool(
        6, 0.0,
        ("Wei", "Mei", "Jun", "Xinyi", "Hao", "Yuting", "Chen", "Lin", "Ming", "Jia", "Kevin",
         "Grace", "Eric", "Emily", "Jason", "Annie", "Zihan", "Ruoxi", "Yifan", "Haoran"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
         "Sun", "Ma", "Zhu", "Hu", "Guo", "Lin", "Ho", "Wong", "Chan"),
    ),
    "vietnamese": NamePool(
        5, 0.0,
        ("Anh", "Minh", "Linh", "Bao", "Thanh", "Quang", "Ngoc", "Huy", "Trang", "Khoa",
         "Thao", "Duc", "Vy", "Long", "Mai", "Tuan", "Phuong", "Hieu"),
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
         "Đỗ", "Ngô", "Dương", "Lý"),
    ),
    "filipino": NamePool(
        5, 0.0,
        ("Angelo", "Kristine", "Paolo", "Bea", "Miguel", "Andrea", "Jericho", "Czarina",
         "Rafael", "Joy", "Mark Anthony", "Princess", "Gabriel", "Lovely", "Jose Mari",
         "Camille", "Nathaniel", "Patricia"),
        ("Santos", "Reyes", "Dela Cruz", "Bautista", "Mendoza", "Garcia", "Villanueva",
         "Aquino", "Castro", "Manalo", "Pascual", "Domingo", "Soriano", "Ramos", "Tolentino",
         "Dizon"),
    ),
    "korean": NamePool(
        3, 0.0,
        ("Ji-woo", "Min-jun", "Seo-yeon", "Ha-eun", "Do-yun", "Ji-ho", "Soo-ah", "Eun-ji",
         "Joon", "Hana", "Daniel", "Grace"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han",
         "Shin"),
    ),
    "south_asian": NamePool(
        7, 0.0,
        ("Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Priya", "Rohan", "Isha", "Aditya",
         "Saanvi", "Kabir", "Meera", "Dev", "Kavya", "Ravi", "Sunita", "Harpreet", "Gurpreet",
         "Amit", "Neha", "Zara", "Ayaan"),
        ("Patel", "Singh", "Sharma", "Kumar", "Gupta", "Shah", "Reddy", "Rao", "Iyer",
         "Desai", "Mehta", "Kaur", "Gill", "Sandhu", "Chowdhury", "Khan", "Joshi", "Nair"),
    ),
    "middle_eastern": NamePool(
        4, 0.0,
        ("Omar", "Layla", "Yusuf", "Noor", "Karim", "Amira", "Hassan", "Leila", "Tariq",
         "Yasmin", "Sami", "Mariam", "Ali", "Fatima", "Ibrahim", "Salma", "Dariush", "Shirin"),
        ("Haddad", "Khalil", "Nasser", "Saleh", "Hosseini", "Farah", "Aziz", "Mansour",
         "Rahimi", "Karimi", "Darwish", "Abboud", "Mahmoud", "Sadeghi"),
    ),
    "east_african": NamePool(
        2, 0.0,
        ("Abdi", "Hodan", "Yonas", "Selam", "Abebe", "Hanna", "Dawit", "Liya", "Mohamed",
         "Ifrah", "Tesfaye", "Marta"),
        ("Abdullahi", "Mohamud", "Tesfaye", "Bekele", "Haile", "Gebre", "Warsame", "Yusuf",
         "Alemu", "Tadesse"),
    ),
    "west_african": NamePool(
        2, 0.0,
        ("Chidi", "Adaeze", "Kwame", "Ama", "Tunde", "Folake", "Kofi", "Ngozi", "Emeka",
         "Abena", "Seun", "Chiamaka"),
        ("Okafor", "Adeyemi", "Mensah", "Owusu", "Nwosu", "Balogun", "Asante", "Eze",
         "Boateng", "Okonkwo"),
    ),
    "eastern_european": NamePool(
        2, 0.0,
        ("Anastasia", "Dmitri", "Katarzyna", "Mikhail", "Olena", "Pavel", "Zofia", "Andrei",
         "Irina", "Bogdan", "Natalia", "Viktor"),
        ("Kowalski", "Ivanova", "Petrov", "Novak", "Shevchenko", "Horvat", "Popescu",
         "Kuznetsov", "Wiśniewski", "Bondarenko"),
    ),
    "japanese": NamePool(
        2, 0.0,
        ("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Kenji", "Sakura", "Takeshi", "Emi"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
         "Kobayashi", "Yamada"),
    ),
}
# fmt: on

# Some students go by a shorter name at school.
NICKNAMES = {
    "Alejandro": "Alex", "Benjamin": "Ben", "Katherine": "Katie", "Santiago": "Santi",
    "Valentina": "Vale", "Nathaniel": "Nate", "Elijah": "Eli", "Anastasia": "Ana",
    "Guadalupe": "Lupe", "Fernando": "Nando", "Michael": "Mike", "Abigail": "Abby",
    "Xinyi": "Cindy", "Zihan": "Zoe", "Haoran": "Harry", "Ji-woo": "Jiwoo", "Mark Anthony": "MJ",
    "Jose Mari": "Joma", "Daniela": "Dani", "Joaquín": "Joaco",
}  # fmt: skip

# Other adults who pick up now and then.
RELATIVES = (
    "Grandma {last}", "Grandpa {last}", "{first} {last} (aunt)", "{first} {last} (uncle)",
    "{first} {last} (family friend)", "{first} {last} (neighbor)",
)  # fmt: skip
RELATIVES_ES = ("Abuela {last}", "Abuelo {last}", "Tía {last}", "Tío {last}", *RELATIVES[4:])

SCHOOL_PLACES = (
    "Maple Grove", "Harbor View", "Ridgeline", "Cedar Creek", "Mission Hills", "Oak Park",
    "Sierra Vista", "Willow Bend", "Lakeside", "Sunset Ridge", "Bayview", "Eastgate",
    "Pine Hollow", "Riverbend", "Foothill", "Meadowlark",
)  # fmt: skip

ROUTE_NAMES = (
    "North Loop", "Elm & 5th", "Riverside Dr", "Canyon Rd", "Orchard Hills", "Mesa Verde",
    "Lakeshore", "Old Mill Rd", "Pioneer Park", "Vista del Sol", "Cottonwood", "Hillcrest",
    "Fairview", "Bayshore", "Stonebridge", "Quail Run", "Sunnyside", "Westgate", "Kingsley Ave",
    "Arroyo Seco",
)  # fmt: skip

FRIEND_NOTES = (
    "Going home with a friend", "Birthday party at a classmate's house",
    "Staying with cousins this week", "Play date",
)  # fmt: skip

OTHER_NOTES = (
    "Carpool with the {family} family", "YMCA van picks up at the front gate",
    "Rides city bus line 22 with older brother", "Taken by the Kids Club shuttle",
    "Older sister (grade 11) drives home",
)  # fmt: skip

EARLY_NOTES = (
    "Dentist appointment", "Orthodontist", "Doctor's appointment", "Family trip",
    "Court appearance with family", "Religious service",
)  # fmt: skip

EXCUSED_REASONS = (
    "Sick", "Fever", "Medical appointment", "Family emergency", "Religious observance",
    "Bereavement", "Sick — parent called",
)  # fmt: skip

UNEXCUSED_REASONS = ("", "", "No contact from family", "Unverified", "Overslept")
