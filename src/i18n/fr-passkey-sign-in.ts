// Les étapes « clé d’accès » d’une connexion et les messages du script (en-passkey-sign-in.ts).
import type { enPasskeySignIn } from "./en-passkey-sign-in.js";

export const frPasskeySignIn: { readonly [K in keyof typeof enPasskeySignIn]: string } = {
  "passkey_sign_in.off": "La connexion par clé d’accès est désactivée ici. Connectez-vous d’une autre façon.",
  "passkey_sign_in.page_expired": "Cette page de connexion a expiré. Rechargez-la et réessayez.",
  "passkey_sign_in.page_expired_go_back": "Cette page de connexion a expiré. Revenez à l’application.",
  "passkey_sign_in.refused":
    "Cette clé d’accès n’a pas pu être utilisée. Réessayez, ou choisissez un autre moyen de vous connecter.",
  "passkey_sign_in.prompt_expired": "Cette demande de clé d’accès a expiré. Réessayez.",
  "passkey_sign_in.not_asked": "Aucune clé d’accès n’est demandée pour l’instant. Rechargez la page.",
  "passkey_sign_in.too_many": "Ce compte a déjà autant de clés d’accès qu’il peut en contenir.",
  "passkey_sign_in.not_saved": "La clé d’accès n’a pas pu être enregistrée. Réessayez.",
  "passkey_sign_in.already_saved": "Cette clé d’accès est déjà enregistrée.",
  "passkey_script.closed": "La fenêtre de la clé d’accès a été fermée ou a expiré. Réessayez.",
  "passkey_script.exists": "Cet appareil a déjà une clé d’accès pour votre compte.",
  "passkey_script.unsupported": "Ce navigateur ne peut pas utiliser de clés d’accès.",
  "passkey_script.failed": "Une erreur s’est produite. Réessayez.",
  "passkey_script.expired": "Cette page a expiré. Rechargez-la et réessayez.",
};
