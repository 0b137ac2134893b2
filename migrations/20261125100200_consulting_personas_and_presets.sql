-- Consulting personas and council presets (from consulting_personas_registry.yaml): the
-- personas, the presets, and the ordered membership of personas in presets.

create table public.consulting_personas (
  id text primary key,
  name text not null,
  short_name text,
  specialty text,
  methodology jsonb default '{}',
  perspective jsonb default '{}',
  output_style jsonb default '{}',
  tags text[] default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.council_presets (
  id text primary key,
  name text not null,
  description text,
  use_case text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- position is the 1-based order of the persona in the preset's `personas` list.
create table public.council_preset_members (
  preset_id text not null references public.council_presets (id) on delete cascade on update cascade,
  persona_id text not null references public.consulting_personas (id) on delete restrict on update cascade,
  position integer not null check (position >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (preset_id, persona_id),
  unique (preset_id, position)
);

create index council_preset_members_persona_id_idx on public.council_preset_members (persona_id);
create index consulting_personas_tags_idx on public.consulting_personas using gin (tags);

create trigger update_consulting_personas_updated_at
  before update on public.consulting_personas
  for each row execute function public.update_updated_at_column();
create trigger update_council_presets_updated_at
  before update on public.council_presets
  for each row execute function public.update_updated_at_column();
create trigger update_council_preset_members_updated_at
  before update on public.council_preset_members
  for each row execute function public.update_updated_at_column();
