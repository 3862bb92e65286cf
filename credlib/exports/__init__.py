"""Exports: one Jinja template per target type (``templates/``) plus a delivery that puts the rendering
where the tool reads it (file merge, deep link, HTTP upsert). ``registry`` says what each type is,
``render`` turns credentials into text, ``deliveries`` plan and apply it."""
